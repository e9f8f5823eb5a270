/** Which files are the project's own code, and how a finding names them. */

export function relativeFile(fileName: string, projectDir: string): string {
  const dir = projectDir.replace(/\\/g, "/").replace(/\/$/, "");
  const file = fileName.replace(/\\/g, "/");
  return file.startsWith(`${dir}/`) ? file.slice(dir.length + 1) : file;
}

/** Only the project's own modules are user code; anything else a program reaches (packages, lib files) is left alone. */
export function isProjectFile(fileName: string, projectDir: string): boolean {
  const file = relativeFile(fileName, projectDir);
  return file !== fileName.replace(/\\/g, "/") && !file.includes("node_modules/");
}

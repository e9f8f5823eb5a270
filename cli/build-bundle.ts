/**
 * `akts build`: compiles a manifest's project through the akts rewrite into a bundle folder (docs/bundles.md).
 * One ESM module (plus its source map) per project source, so stack traces, source maps and relative imports
 * keep the project's own layout and no bundler is needed; packages are left as imports, resolved where the
 * bundle runs. The folder is written whole or not at all: it is assembled in a staging folder and renamed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as ts from "typescript";
import { analyzeProgram } from "../compiler";
import type { Diagnostic } from "../compiler/types";
import { AktsError } from "../errors";
import { loadManifest, type Manifest } from "../runtime/manifest";
import { STUB_ABI } from "../runtime/stub";
import { BUNDLE_FILE, BUNDLE_FORMAT, type BundleInfo } from "./bundle";
import { jsName } from "./compile-cache";
import { emitProject, loadProject, readProjectConfig, typescriptErrors, type Project } from "../integrations/project";
import { aktsVersion } from "./version";
import { SHAPE_FILE, shapeOf, shapeText } from "./replay-shape-file";
import { loadTypeScript } from "./typescript";

export type BuildOutcome = { ok: true; dir: string; info: BundleInfo; modules: number } | { ok: false; errors: Diagnostic[]; projectDir: string };

export function buildBundle(manifestPath: string, outDir: string): BuildOutcome {
  const tsx = loadTypeScript("akts build");
  const manifest = loadManifest(manifestPath);
  const tsconfig = path.join(manifest.dir, "tsconfig.json");
  const out = path.resolve(outDir);
  checkOutput(out, manifest.dir);
  const project = loadProject(tsx, tsconfig, {
    ...esmOptions(tsx, tsconfig, manifest.dir),
    outDir: out,
    rootDir: manifest.dir,
    noEmit: false,
    noEmitOnError: false,
    declaration: false,
    sourceMap: true,
    inlineSources: true,
    inlineSourceMap: false,
  });
  const analysis = analyzeProgram(tsx, project.program, { ...project.options, projectDir: project.projectDir });
  const errors = [...typescriptErrors(tsx, project.program, project.projectDir), ...analysis.diagnostics].filter((d) => d.severity === "error");
  if (errors.length > 0) return { ok: false, errors, projectDir: project.projectDir };

  const { files } = emitted(tsx, project, out);
  const shape = shapeOf(tsx, project);
  const info: BundleInfo = {
    format: BUNDLE_FORMAT,
    akts: aktsVersion(),
    stubAbi: STUB_ABI,
    builtAt: new Date().toISOString(),
    project: manifest.project,
    manifest: path.basename(manifest.path),
    fingerprint: shape.fingerprint,
    handlers: handlerTable(manifest, files),
    sites: analysis.sites.map(({ file, line, column, callee, reason }) => ({ file, line, column, callee, reason })),
  };
  files.set(info.manifest, fs.readFileSync(manifest.path, "utf8"));
  files.set("package.json", JSON.stringify(bundlePackage(manifest.dir, out), null, 2) + "\n");
  files.set(BUNDLE_FILE, JSON.stringify(info, null, 2) + "\n");
  files.set(SHAPE_FILE, shapeText(shape));
  writeAtomically(out, files);
  return { ok: true, dir: out, info, modules: [...files.keys()].filter(isModule).length };
}

/** Refuses to replace a folder that is not a bundle, or one that holds the project itself. */
function checkOutput(out: string, projectDir: string): void {
  const rel = path.relative(out, projectDir);
  if (rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel))) {
    throw new AktsError("AKTS9001", `the output folder ${out} contains the project: pick another -o`);
  }
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !fs.existsSync(path.join(out, BUNDLE_FILE))) {
    throw new AktsError("AKTS9001", `${out} exists and is not a bundle: it was left as it is`, { hint: "pass -o with a new or empty folder, or a previous bundle" });
  }
}

/**
 * The module settings that make the output ESM. Node16/NodeNext projects already emit ESM when their
 * package.json says `"type": "module"` (and must, since their resolution rules cannot be changed without changing
 * what their imports mean); any other project is emitted with `module: ESNext`.
 */
function esmOptions(tsx: typeof ts, tsconfig: string, projectDir: string): ts.CompilerOptions {
  const module = readProjectConfig(tsx, tsconfig).config.options.module;
  if (module === undefined || module < tsx.ModuleKind.Node16 || module > tsx.ModuleKind.NodeNext) return { module: tsx.ModuleKind.ESNext };
  if (packageJson(projectDir).type === "module") return {};
  throw new AktsError("AKTS9002", `akts build emits ESM: with "module": "${tsx.ModuleKind[module]}" the project's package.json must say "type": "module"`, {
    location: { file: path.join(projectDir, "package.json") },
  });
}

function packageJson(dir: string): { type?: string; dependencies?: Record<string, string> } {
  const file = path.join(dir, "package.json");
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
}

/**
 * The bundle's package.json: ESM, and the project's dependencies, so `npm install` in the folder installs them. A
 * `file:` spec is relative to the folder its package.json is in: it is rewritten to point from the bundle.
 */
function bundlePackage(projectDir: string, out: string): object {
  const { dependencies } = packageJson(projectDir);
  if (!dependencies) return { private: true, type: "module" };
  const fromBundle = (spec: string) => {
    if (!spec.startsWith("file:")) return spec;
    const relative = path.relative(out, path.resolve(projectDir, spec.slice("file:".length))).split(path.sep).join("/");
    return `file:${relative.startsWith(".") ? relative : `./${relative}`}`;
  };
  return { private: true, type: "module", dependencies: Object.fromEntries(Object.entries(dependencies).map(([name, spec]) => [name, fromBundle(spec)])) };
}

/** The emitted modules and maps, by path relative to `out`, stub and API imported as the packages `akts/stub` and `akts`. */
function emitted(tsx: typeof ts, project: Project, out: string): { files: Map<string, string> } {
  const result = emitProject(tsx, project, { overrides: { runtime: "akts/stub", aktsModule: "akts" } });
  const files = new Map<string, string>();
  for (const [file, text] of result.files) files.set(path.relative(out, file).split(path.sep).join("/"), text);
  return { files };
}

const isModule = (file: string) => /\.[cm]?js$/.test(file);

/** Each trigger's `call` → its module. */
function handlerTable(manifest: Manifest, files: Map<string, string>): BundleInfo["handlers"] {
  const table: Record<string, { module: string }> = {};
  for (const trigger of manifest.triggers) {
    const module = jsName(trigger.call.file);
    if (!files.has(module)) {
      throw new AktsError("AKTS3001", `'${trigger.call.file}' is not part of the TypeScript project (tsconfig include)`, { location: trigger.callLoc });
    }
    table[`${trigger.call.file}:${trigger.call.export}`] = { module };
  }
  return table;
}

/** Writes `files` into a staging folder beside `out`, then swaps it in: a failed build leaves `out` untouched. */
function writeAtomically(out: string, files: Map<string, string>): void {
  const staging = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
  const previous = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.old`);
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    for (const [file, text] of files) {
      const target = path.join(staging, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, text);
    }
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  const replacing = fs.existsSync(out);
  if (replacing) fs.renameSync(out, previous);
  fs.renameSync(staging, out);
  if (replacing) fs.rmSync(previous, { recursive: true, force: true });
}

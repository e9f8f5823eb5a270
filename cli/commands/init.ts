/**
 * `akts init [dir] [--name n] [--akts spec] [--force]`: scaffolds a project (cli/init/files.ts). akts is not on
 * the npm registry, so the new package.json names akts by where this akts runs from (a `file:` path to its
 * folder: a checkout, or the install a tarball made), unless `--akts` gives another spec (a tarball, a git URL).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError } from "../../errors";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { initFiles } from "../init/files";
import { AKTS_ROOT } from "../version";

/** A `file:` spec from `dir` to this akts's folder, relative when that is shorter to read. */
function localSpec(dir: string): string {
  const relative = path.relative(dir, AKTS_ROOT).split(path.sep).join("/");
  return `file:${path.isAbsolute(relative) ? relative : relative.startsWith(".") ? relative : `./${relative}`}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("init", argv, { options: { name: ["--name"], akts: ["--akts"] }, flags: { force: ["--force"] } });
  const [target = ".", extra] = args.positional;
  if (extra !== undefined) throw usageError("init");
  const dir = path.resolve(target);
  const name = args.options.name ?? path.basename(dir);
  if (!/^[a-z0-9][\w.-]*$/.test(name)) {
    throw new AktsError("AKTS9001", `'${name}' cannot name a project: use lower-case letters, digits, '_', '-' and '.'`, { hint: "pass --name" });
  }
  const existing = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f !== ".git") : [];
  if (existing.length > 0 && !args.flags.force) {
    throw new AktsError("AKTS9011", `${target} is not empty: nothing was written`, { hint: "pass --force to add the files that are missing (none is overwritten)" });
  }
  fs.mkdirSync(dir, { recursive: true });
  // The manifest's project name is a word (letters, digits, '_').
  const files = initFiles({ name, manifestName: name.replace(/\W/g, "_"), aktsSpec: args.options.akts ?? localSpec(dir) });
  const shown = (file: string) => path.relative(process.cwd(), path.join(dir, file)) || file;
  for (const [file, text] of files) {
    const full = path.join(dir, file);
    if (fs.existsSync(full)) {
      process.stdout.write(`kept    ${shown(file)} (it exists)\n`);
      continue;
    }
    fs.writeFileSync(full, text, { flag: "wx" });
    process.stdout.write(`created ${shown(file)}\n`);
  }
  const cd = path.relative(process.cwd(), dir);
  process.stdout.write(`\nnext: ${cd ? `cd ${cd} && ` : ""}npm install && npm run dev\n`);
  return 0;
}

/**
 * `akts build <manifest> [-o dir]`: the project rewritten into a bundle folder (default `dist/`) that `akts run`,
 * `resume`, `replay` and `serve` take in place of the manifest. Exit 1, writing nothing, on a compiler error.
 */
import * as path from "node:path";
import { formatFinding } from "../../errors";
import { parseArgs } from "../args";
import { usageError } from "../usage";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("build", argv, { options: { out: ["-o", "--out"] } });
  const [manifest, extra] = args.positional;
  if (!manifest || extra !== undefined) throw usageError("build");
  const { buildBundle } = require("../build-bundle") as typeof import("../build-bundle");
  const outcome = buildBundle(manifest, args.options.out ?? "dist");
  if (!outcome.ok) {
    for (const d of outcome.errors) {
      const file = path.relative(process.cwd(), path.join(outcome.projectDir, d.file)) || d.file;
      process.stderr.write(formatFinding({ ...d, location: { file, line: d.line, column: d.column } }) + "\n");
    }
    process.stderr.write(`akts build: ${outcome.errors.length} error${outcome.errors.length === 1 ? "" : "s"}; nothing was written\n`);
    return 1;
  }
  const { info } = outcome;
  const shown = path.relative(process.cwd(), outcome.dir) || ".";
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  const built = [count(outcome.modules, "module"), count(Object.keys(info.handlers).length, "handler"), count(info.sites.length, "activity site")];
  process.stdout.write(`${shown}: ${built.join(", ")} (${info.project}, akts ${info.akts})\n`);
  return 0;
}

/**
 * `node bench/module.mjs <name> [--only ...] [--quick]`: runs one benchmark module (`bench/<name>.mjs`) and writes
 * its rows as JSON to stdout. bench/run.mjs starts one such process per module.
 */
import { options } from "./lib.mjs";

const [name, ...argv] = process.argv.slice(2);
const { run } = await import(`./${name}.mjs`);
process.stdout.write(JSON.stringify(await run(options(argv))));

import { AktsError, formatError } from "../errors";
import { aktsVersion } from "./version";
import { HELP, commandHelp } from "./usage";

/** A CLI command: gets its own arguments, prints to stdout/stderr, returns the exit code. */
export type Command = (args: string[]) => Promise<number>;

/** Commands load lazily so `akts run` never pays for loading TypeScript unless it compiles. */
const COMMANDS: Record<string, () => Command> = {
  init: () => require("./commands/init").run,
  check: () => require("./commands/check").run,
  build: () => require("./commands/build").run,
  run: () => require("./commands/run").run,
  resume: () => require("./commands/resume").run,
  serve: () => require("./commands/serve").run,
  worker: () => require("./commands/worker").run,
  event: () => require("./commands/event").run,
  cancel: () => require("./commands/cancel").run,
  sessions: () => require("./commands/sessions").run,
  journal: () => require("./commands/journal").run,
  values: () => require("./commands/values").run,
  replay: () => require("./commands/replay").run,
  diff: () => require("./commands/diff").run,
};

const HELP_FLAGS = new Set(["--help", "-h"]);

function usage(): string {
  const rows = Object.keys(COMMANDS).map((name) => `  ${name.padEnd(10)} ${HELP[name].summary}`);
  return `usage: akts <command> [options]\n\ncommands:\n${rows.join("\n")}\n\nakts <command> --help shows a command's options; akts --version the version.\n`;
}

/** Exit codes: 0 done, 1 a failure (a failed session, an error finding, a broken input), 2 a usage error (AKTS9001). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || HELP_FLAGS.has(name)) {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`${aktsVersion()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`akts: error AKTS9001: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  if (rest.some((a) => HELP_FLAGS.has(a))) {
    process.stdout.write(commandHelp(name));
    return 0;
  }
  try {
    return await command()(rest);
  } catch (err) {
    if (err instanceof AktsError) {
      process.stderr.write(`akts ${name}: ${formatError(err)}\n`);
      return err.code === "AKTS9001" ? 2 : 1;
    }
    throw err;
  }
}

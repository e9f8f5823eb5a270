import { AktsError, formatError } from "../errors";
import { aktsVersion } from "./version";
import { usageLine } from "./usage";

/** A CLI command: gets its own arguments, prints to stdout/stderr, returns the exit code. */
export type Command = (args: string[]) => Promise<number>;

/** Commands load lazily so `akts run` never pays for loading TypeScript unless it compiles. */
const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  check: { summary: "report activity sites and determinism findings", load: () => require("./commands/check").run },
  build: { summary: "compile a project into a bundle folder that runs without TypeScript", load: () => require("./commands/build").run },
  run: { summary: "run one session of a trigger and print its result", load: () => require("./commands/run").run },
  resume: { summary: "finish the project's unfinished sessions, naming those a live runner holds", load: () => require("./commands/resume").run },
  serve: { summary: "serve webhooks and schedules over HTTP", load: () => require("./commands/serve").run },
  worker: { summary: "run the project's unfinished sessions, taking over those of runners that died, without HTTP", load: () => require("./commands/worker").run },
  event: { summary: "deliver an event to a waiting session (nextEvent)", load: () => require("./commands/event").run },
  sessions: { summary: "list sessions", load: () => require("./commands/sessions").run },
  journal: { summary: "show a session's journal", load: () => require("./commands/journal").run },
  replay: { summary: "replay recorded sessions against the current code, running nothing live", load: () => require("./commands/replay").run },
};

const HELP = new Set(["--help", "-h"]);

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: akts <command> [options]\n\ncommands:\n${rows.join("\n")}\n\nakts <command> --help shows a command's options; akts --version the version.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || HELP.has(name)) {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`${aktsVersion()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`akts: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  if (rest.some((a) => HELP.has(a))) {
    process.stdout.write(`${usageLine(name)}\n\n${command.summary}. Details: the CLI section of akts's README.\n`);
    return 0;
  }
  try {
    return await command.load()(rest);
  } catch (err) {
    if (err instanceof AktsError) {
      process.stderr.write(`akts ${name}: ${formatError(err)}\n`);
      return 1;
    }
    throw err;
  }
}

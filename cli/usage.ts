/**
 * Each command's arguments, written once: `akts <command> --help` shows them (every option, its default, an
 * example), and a command given the wrong arguments reports its usage line. Every usage error is AKTS9001 and
 * exits 2 (cli.ts).
 */
import { AktsError } from "../errors";

interface OptionHelp {
  /** As typed, with its aliases and value: `-p, --project <tsconfig>`. */
  readonly flags: string;
  readonly what: string;
  readonly default?: string;
}

export interface CommandHelp {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly OptionHelp[];
  readonly examples: readonly string[];
}

const STORE: OptionHelp = {
  flags: "--store <dir|url>",
  what: "the store: a folder, or postgres://user[:password]@host[:port]/database",
  default: "$AKTS_STORE, else .akts/ beside the manifest or bundle",
};
const STORE_OR_MANIFEST: readonly OptionHelp[] = [
  { ...STORE, default: "$AKTS_STORE, else .akts/ beside --manifest, else ./.akts" },
  { flags: "-m, --manifest <file>", what: "find the store beside this manifest (or bundle folder)" },
];

export const HELP: Readonly<Record<string, CommandHelp>> = {
  init: {
    usage: "[dir] [--name project] [--akts spec] [--force]",
    summary: "create a new akts project: package.json, tsconfig.json, autokitteh.yaml, a handler and its test",
    options: [
      { flags: "[dir]", what: "the folder to create the project in", default: "." },
      { flags: "--name <name>", what: "the project's name in package.json and autokitteh.yaml", default: "the folder's name" },
      { flags: "--akts <spec>", what: "how package.json names akts: a tarball, a git URL, a folder", default: "file: with the path of the akts running this command" },
      { flags: "--force", what: "write into a folder that already has files (existing files are never overwritten)" },
    ],
    examples: ["akts init my-project && cd my-project && npm install && npm run dev"],
  },
  check: {
    usage: "[-p tsconfig.json] [--manifest autokitteh.yaml] [--format text|json|sarif] [--watch]",
    summary: "report activity sites and determinism findings; exit 1 on an error finding",
    options: [
      { flags: "-p, --project <tsconfig>", what: "the TypeScript project to check", default: "tsconfig.json" },
      { flags: "-m, --manifest <file>", what: "also check the manifest's triggers (AKTS1007)" },
      { flags: "-f, --format <text|json|sarif>", what: "output format; json is stable (see the README)", default: "text" },
      { flags: "-w, --watch", what: "re-check on every save, incrementally, until interrupted (text format only)" },
    ],
    examples: ["akts check", "akts check --manifest autokitteh.yaml --format json", "akts check --watch"],
  },
  build: {
    usage: "<manifest> [-o dir]",
    summary: "compile a project into a bundle folder that runs without TypeScript; exit 1, writing nothing, on an error",
    options: [{ flags: "-o, --out <dir>", what: "the bundle folder (replaced whole; refused if it holds anything but a bundle)", default: "dist" }],
    examples: ["akts build autokitteh.yaml -o dist && akts run dist --trigger daily"],
  },
  run: {
    usage: "<manifest | bundle> --trigger <name> [--event file.json|-] [--store dir|url] [--verbose]",
    summary: "run one session of a trigger and print its result as JSON",
    options: [
      { flags: "-t, --trigger <name>", what: "the manifest's trigger to run (required)" },
      { flags: "-e, --event <file|->", what: "the event's data (the handler gets { data, event_id: null, event_type: null, session_id }), a JSON file or - for standard input", default: "{}" },
      STORE,
      { flags: "-v, --verbose", what: "print a line per activity, sleep and event on standard error" },
    ],
    examples: ["akts run autokitteh.yaml --trigger on_push --event push.json", "akts run dist -t on_push -e - --verbose < push.json"],
  },
  resume: {
    usage: "[--manifest m | --bundle dir] [--store dir|url] [--wait seconds]",
    summary: "finish every unfinished session: durable ones replay, non-durable ones rerun; one line per session",
    options: [
      { flags: "-m, --manifest <file>", what: "the project whose sessions to run (a journal never chooses the code)", default: "the autokitteh.yaml beside a .akts store" },
      { flags: "-b, --bundle <dir>", what: "run the sessions with this bundle instead" },
      STORE,
      { flags: "--wait <seconds>", what: "wait up to this long for sessions a live runner holds, taking each over when its lease frees", default: "0" },
    ],
    examples: ["akts resume --manifest autokitteh.yaml", "akts resume --bundle dist --store postgres://akts@db/akts --wait 90"],
  },
  serve: {
    usage: "<manifest | bundle> [--port N] [--host H] [--store dir|url] [--max-body bytes] [--max-connections N] [--grace seconds] [--log text|json] [--print-token] [--keep-versions]",
    summary: "serve webhooks, schedules, the session page and admin routes over HTTP; take over orphaned sessions",
    options: [
      { flags: "-p, --port <N>", what: "the port (0: any free port)", default: "9980" },
      { flags: "--host <H>", what: "the address to listen on", default: "127.0.0.1" },
      STORE,
      { flags: "--max-body <bytes>", what: "largest request body accepted (larger: 413)", default: "1048576" },
      { flags: "--max-connections <N>", what: "open connections at most; more are closed at once", default: "1000" },
      { flags: "--grace <seconds>", what: "how long SIGTERM/SIGINT waits for sessions to reach a boundary", default: "30" },
      { flags: "--log <text|json>", what: "access log and session lines on standard error, as text or one JSON object a line", default: "text" },
      { flags: "--print-token", what: "also print the admin token (it is always written to <store>/admin-token)" },
      { flags: "--keep-versions", what: "keep the code in the store by its replay fingerprint; a session started on other code resumes on its kept version (a database store unpacks it into .akts/versions beside the manifest)" },
    ],
    examples: ["akts serve autokitteh.yaml --port 9980", "akts serve dist --log json --store postgres://akts@db/akts"],
  },
  worker: {
    usage: "<manifest | bundle> [--store dir|url] [--grace seconds]",
    summary: "run the project's unfinished sessions without HTTP, taking over those of runners that died",
    options: [
      STORE,
      { flags: "--grace <seconds>", what: "how long SIGTERM/SIGINT waits for sessions to reach a boundary", default: "30" },
    ],
    examples: ["akts worker dist --store postgres://akts@db/akts"],
  },
  event: {
    usage: "<session> <name> [--data json] [--store dir|url | --manifest m]",
    summary: "deliver an event to a session waiting in nextEvent; refused (AKTS7006) once the session has finished",
    options: [{ flags: "-d, --data <json>", what: "the event's value, JSON", default: "null" }, ...STORE_OR_MANIFEST],
    examples: ["akts event 01JD0000000000000000000000 approval --data '{\"approved\":true}' --manifest autokitteh.yaml"],
  },
  cancel: {
    usage: "<session> [--store dir|url | --manifest m]",
    summary: "cancel a session: it stops at its next activity, sleep or event (CancelledError) and ends cancelled",
    options: [...STORE_OR_MANIFEST],
    examples: ["akts cancel ses_01JD0000000000000000000000 --manifest autokitteh.yaml"],
  },
  sessions: {
    usage: "[--store dir|url | --manifest m] [--status s] [--limit n] [--json]",
    summary: "list sessions, newest first",
    options: [
      ...STORE_OR_MANIFEST,
      { flags: "--status <running|waiting|completed|failed|cancelled>", what: "only sessions with this status" },
      { flags: "-n, --limit <n>", what: "at most n sessions", default: "all" },
      { flags: "--json", what: "print JSON (each session's id as session_id)" },
    ],
    examples: ["akts sessions --manifest autokitteh.yaml --status waiting"],
  },
  values: {
    usage: "[--manifest m | --store dir|url --project name] [--json]",
    summary: "list the project's stored values (getValue, setValue, addValues, ...), sorted by key",
    options: [
      ...STORE_OR_MANIFEST,
      { flags: "-p, --project <name>", what: "the project whose values to list", default: "the manifest's project" },
      { flags: "--json", what: "print JSON: [{ key, value }]" },
    ],
    examples: ["akts values --manifest autokitteh.yaml", "akts values --store postgres://akts@db/akts --project orders --json"],
  },
  journal: {
    usage: "<session> [--store dir|url | --manifest m] [--json]",
    summary: "show a session's journal, record by record",
    options: [...STORE_OR_MANIFEST, { flags: "--json", what: "print the records as JSON" }],
    examples: ["akts journal 01JD0000000000000000000000 --manifest autokitteh.yaml"],
  },
  replay: {
    usage: "<session-id | store folder | journal file | folder of journals> [--bundle dir | --manifest m] [--store dir|url]",
    summary: "replay recorded sessions against the current code, running nothing live; exit 1 on a divergence",
    options: [
      { flags: "-b, --bundle <dir>", what: "replay against this bundle" },
      { flags: "-m, --manifest <file>", what: "replay against this manifest's sources", default: "the autokitteh.yaml beside a .akts store (a journal never chooses the code)" },
      STORE,
    ],
    examples: ["akts replay .akts --manifest autokitteh.yaml"],
  },
  diff: {
    usage: "<old> <new> | --store dir|url [new] [--format text|json|sarif]",
    summary:
      "compare the replay shape of two versions of the code (bundles or manifests), or of the store's unfinished sessions against the current code; exit 1 if a change breaks sessions that may be in flight",
    options: [
      { flags: "<old> <new>", what: "two bundle folders or manifests; exit 1 on any change that is not safe for every unfinished session" },
      { ...STORE, what: "check the store's unfinished sessions instead of <old>: each is replayed on the new code, running nothing live; exit 1 if one diverges", default: "none" },
      { flags: "[new]", what: "with --store: the new code, a manifest or bundle", default: "the autokitteh.yaml beside a .akts store" },
      { flags: "-f, --format <text|json|sarif>", what: "output format", default: "text" },
    ],
    examples: ["akts diff old-dist dist", "akts diff --store .akts autokitteh.yaml --format sarif > diff.sarif"],
  },
};

export function usageLine(command: string): string {
  return `usage: akts ${command} ${HELP[command].usage}`;
}

/** `akts <command> --help`: usage, what it does, every option with its default, examples. */
export function commandHelp(command: string): string {
  const help = HELP[command];
  const width = Math.max(10, ...help.options.map((o) => o.flags.length));
  const options = help.options.map((o) => `  ${o.flags.padEnd(width)}  ${o.what}${o.default ? ` (default: ${o.default})` : ""}`);
  const examples = help.examples.map((e) => `  ${e}`);
  return `${usageLine(command)}\n\n${help.summary}.\n\noptions:\n${options.join("\n")}\n  ${"-h, --help".padEnd(width)}  this help\n\nexamples:\n${examples.join("\n")}\n`;
}

/** The error of a command run with the wrong arguments. */
export function usageError(command: string): AktsError {
  return new AktsError("AKTS9001", usageLine(command));
}

/**
 * What `akts run` tells while a session runs, on standard error (standard output keeps the one JSON result): the
 * session id at the start, with `--verbose` a line per journaled activity, timer and event, and when the session
 * waits in `nextEvent`, the command that delivers the event. It also keeps what an interruption must report.
 */
import type { JournalRecord } from "../runtime/journal";
import type { StoreObserver } from "./observe-store";
import { signalNames } from "../runtime/signals";

/** A shell word: bare when it is safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface RunProgress extends StoreObserver {
  /** Activities journaled so far (durable sessions only). */
  readonly activities: number;
}

/**
 * `storeArgs`: the arguments that name this run's store to another command (`--store dir`, or `--manifest m`
 * when the store is the default one beside the target).
 */
export function runProgress(write: (line: string) => void, storeArgs: readonly string[], verbose: boolean): RunProgress {
  let activities = 0;
  const say = (line: string) => write(`akts run: ${line}\n`);
  const describe = (r: JournalRecord): string | undefined => {
    switch (r.t) {
      case "activity":
        return `#${r.seq} ${r.callee} at ${r.site}: ${r.ok ? "ok" : "error"} (${r.end - r.start} ms)`;
      case "timer":
        return `#${r.seq} sleeping until ${new Date(r.deadline).toISOString()}`;
      case "event":
        return `#${r.seq} event '${r.name}' ${r.timedOut ? "timed out" : "received"}`;
      case "outcome":
        return `#${r.seq} ${r.fn}() set the session's outcome`;
      default:
        return undefined;
    }
  };
  return {
    get activities() {
      return activities;
    },
    created(header) {
      say(`session ${header.sessionId} started (${header.project}/${header.trigger}, ${header.mode})`);
    },
    appended(_id, record) {
      if (record.t === "activity") activities++;
      const line = verbose ? describe(record) : undefined;
      if (line) say(line);
    },
    waiting(id, name) {
      const signals = signalNames(name);
      if (signals) return say(`session ${id} waits for signal ${signals.map((s) => `'${s}'`).join(" or ")}; another session sends it with signal()`);
      const command = ["akts", "event", id, name, "--data", "'<json>'", ...storeArgs.map(shellWord)].join(" ");
      say(`session ${id} waits for event '${name}'; deliver it with: ${command}`);
    },
  };
}

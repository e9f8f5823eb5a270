/**
 * What `akts serve` and `akts worker` share: the project and store they run, how they find a trigger's handler,
 * how often they look for sessions to take over, and their drain on SIGTERM or SIGINT.
 */
import { Engine } from "../runtime/engine";
import { follow, type HostOptions } from "../runtime/server/host";
import { leaseTtlMs, openStore, storeLocation, type Store } from "../runtime/store";
import { AktsError } from "../errors";
import { loadKept, loadTarget, sessionTrigger, type LoadedProject } from "./handlers";
import { observeStore } from "./observe-store";
import type { ServeLog } from "./serve-log";
import { recordedFingerprint, type HeaderRecord } from "../runtime/journal";

export const DEFAULT_GRACE_S = 30;

/** A numeric option (`--port`, `--grace`, `--wait`, ...): a whole number within [min, max], else a usage error. */
export function wholeNumber(option: string, text: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new AktsError("AKTS9001", `${option} must be a whole number from ${min} to ${max}, not '${text}'`);
  return n;
}

export interface Runner extends HostOptions {
  readonly loaded: LoadedProject;
  /** A third of the lease TTL: how often a runner looks for sessions to take over. */
  readonly takeoverMs: number;
}

export interface RunnerOptions {
  /** Sessions whose code changed resume on the version they started on, kept in the store (`--keep-versions`). */
  readonly keepVersions?: boolean;
}

/** Opens the project and store a runner runs; `log` gets its news and watches the store for its session lines. */
export async function openRunner(target: string, store: string | undefined, log: ServeLog, options: RunnerOptions = {}): Promise<Runner> {
  const loaded = loadTarget(target);
  // The store sits beside the target (a manifest, or a bundle folder), as for `akts run`.
  const raw = await openStore({ store, manifest: target });
  const opened = observeStore(raw, log.sessions);
  const pinned = options.keepVersions ? await pinning(loaded, raw, target, log.note) : undefined;
  const handlerOf = async (code: LoadedProject, name: string, handler?: string) => {
    const found = await code.handler(sessionTrigger(code.manifest, name, handler));
    return { trigger: found.ref, handler: found.handler };
  };
  // A new session's handler is the current code's, which does not change while the runner runs: found once per
  // trigger instead of once per session (a module import's resolution each time).
  const current = new Map<string, ReturnType<typeof handlerOf>>();
  const currentHandler = (name: string) => {
    let found = current.get(name);
    if (!found) {
      current.set(name, (found = handlerOf(loaded, name)));
      found.catch(() => current.delete(name));
    }
    return found;
  };
  const resolveRecorded = async (name: string, recorded: HeaderRecord) => {
    const code = (await pinned?.(recorded)) ?? loaded;
    return handlerOf(code, name, recorded.handler);
  };
  return {
    loaded,
    // Sessions started by start() run in the runner that started them.
    engine: new Engine({ store: opened, childHandler: async (ref) => (await handlerOf(loaded, ref.trigger, ref.handler)).handler, onChild: (running) => follow(log.note, running) }),
    store: opened,
    project: loaded.manifest.project,
    triggers: loaded.manifest.triggers,
    // A new session's handler is the promise found once: not wrapped in another per session.
    resolve: (name, recorded) => (recorded ? resolveRecorded(name, recorded) : currentHandler(name)),
    takeoverMs: Math.max(1, Math.floor(leaseTtlMs() / 3)),
    log: log.note,
  };
}

/**
 * `--keep-versions`: the current code is copied into the store under its fingerprint when the runner starts, and a
 * session recorded on another fingerprint gets that version's code back while the store keeps it. Without a kept
 * version it resumes on the current code, which fails it with the divergence report if it diverges. A database
 * store's versions run from `.akts/versions/` beside `target` (Store.keptVersions).
 */
async function pinning(loaded: LoadedProject, store: Store, target: string, log: (line: string) => void): Promise<(recorded: HeaderRecord) => Promise<LoadedProject | undefined>> {
  const versions = store.keptVersions(storeLocation({ manifest: target }));
  const code = loaded.code();
  const current = (await versions.keep(code.fingerprint, code.dir, code.modules)).fingerprint;
  const byFingerprint = new Map<string, Promise<LoadedProject | undefined>>();
  const load = async (recorded: HeaderRecord, fingerprint: string) => {
    const kept = await versions.read(fingerprint);
    log(
      kept
        ? `session ${recorded.sessionId} started on code ${fingerprint}: it resumes on that kept version (current ${current})`
        : `session ${recorded.sessionId} started on code ${fingerprint}, which the store does not keep: it resumes on the current code ${current}`,
    );
    return kept && loadKept(loaded.manifest, kept);
  };
  return async (recorded) => {
    const fingerprint = recordedFingerprint(recorded);
    if (fingerprint === current) return undefined;
    if (!byFingerprint.has(fingerprint)) byFingerprint.set(fingerprint, load(recorded, fingerprint));
    return byFingerprint.get(fingerprint);
  };
}

/** Waits for SIGTERM or SIGINT, drains with `shutdown`, and ends the process (exit 0). */
export async function drainOnSignal(runner: Runner, graceMs: number, shutdown: (graceMs: number) => Promise<{ quiet: boolean }>): Promise<number> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  runner.log(`${signal}: draining (at most ${graceMs / 1000} s)`);
  const { quiet } = await shutdown(graceMs);
  runner.log(quiet ? "stopped; unfinished sessions resume on the next start" : "grace period over; sessions still running are resumed on the next start");
  // Sessions parked inside a wait may still hold timers; they are unfinished in the store, so the process can end.
  setImmediate(() => process.exit(0));
  return 0;
}

/**
 * What `akts serve` and `akts worker` share: the project and store they run, how they find a trigger's handler,
 * how often they look for sessions to take over, and their drain on SIGTERM or SIGINT.
 */
import { Engine } from "../runtime/engine";
import { follow, type HostOptions } from "../runtime/server/host";
import { leaseTtlMs, openStore, type Store } from "../runtime/store";
import { AktsError } from "../errors";
import { loadTarget, sessionTrigger, type LoadedProject } from "./handlers";

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
  /** Wraps the opened store (serve's session lines watch it). */
  readonly observe?: (store: Store) => Store;
  /** Where the runner's news goes; default: standard error, prefixed with the command. */
  readonly log?: (line: string) => void;
}

export async function openRunner(command: string, target: string, store: string | undefined, options: RunnerOptions = {}): Promise<Runner> {
  const loaded = loadTarget(target);
  // The store sits beside the target (a manifest, or a bundle folder), as for `akts run`.
  const raw = await openStore({ store, manifest: target });
  const opened = options.observe ? options.observe(raw) : raw;
  const log = options.log ?? ((line: string) => process.stderr.write(`akts ${command}: ${line}\n`));
  const resolve = async (name: string, handler?: string) => {
    const found = await loaded.handler(sessionTrigger(loaded.manifest, name, handler));
    return { trigger: found.ref, handler: found.handler };
  };
  return {
    loaded,
    // Sessions started by start() run in the runner that started them.
    engine: new Engine({ store: opened, childHandler: async (ref) => (await resolve(ref.trigger, ref.handler)).handler, onChild: (running) => follow(log, running) }),
    store: opened,
    project: loaded.manifest.project,
    triggers: loaded.manifest.triggers,
    resolve,
    takeoverMs: Math.max(1, Math.floor(leaseTtlMs() / 3)),
    log,
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

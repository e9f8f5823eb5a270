/**
 * What `akts serve` and `akts worker` share: the project and store they run, how they find a trigger's handler,
 * how often they look for sessions to take over, and their drain on SIGTERM or SIGINT.
 */
import { Engine } from "../runtime/engine";
import { findTrigger } from "../runtime/manifest";
import type { HostOptions } from "../runtime/server/host";
import { leaseTtlMs, openStore } from "../runtime/store";
import { AktsError } from "../errors";
import { loadTarget, type LoadedProject } from "./handlers";
import { observeStore } from "./observe-store";
import type { ServeLog } from "./serve-log";

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

/** Opens the project and store a runner runs; `log` gets its news and watches the store for its session lines. */
export async function openRunner(target: string, store: string | undefined, log: ServeLog): Promise<Runner> {
  const loaded = loadTarget(target);
  // The store sits beside the target (a manifest, or a bundle folder), as for `akts run`.
  const opened = observeStore(await openStore({ store, manifest: target }), log.sessions);
  return {
    loaded,
    engine: new Engine({ store: opened }),
    store: opened,
    project: loaded.manifest.project,
    triggers: loaded.manifest.triggers,
    resolve: async (name) => {
      const { ref, handler } = await loaded.handler(findTrigger(loaded.manifest, name));
      return { trigger: ref, handler };
    },
    takeoverMs: Math.max(1, Math.floor(leaseTtlMs() / 3)),
    log: log.note,
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

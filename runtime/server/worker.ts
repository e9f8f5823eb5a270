/**
 * `akts worker`: a runner without HTTP. It takes over the project's unfinished sessions that nobody holds, at
 * start and every third of the lease TTL (recovery.ts), and drains like the server on shutdown. Several workers
 * and servers may share one store: each session runs in one of them at a time (leases), and the sessions of one
 * that dies or stops are finished by the others.
 */
import { makeHost, type HostOptions } from "./host";
import { startTakeover } from "./recovery";

export interface WorkerOptions extends HostOptions {
  /** How often to look for sessions to take over: a third of the store's lease TTL. */
  readonly takeoverMs: number;
}

export interface RunningWorker {
  /** Stops taking over and parks the sessions (Engine.park) within `graceMs`; resolves once the store is closed. */
  shutdown(graceMs: number): Promise<{ quiet: boolean }>;
}

export function startWorker(options: WorkerOptions): RunningWorker {
  const takeover = startTakeover(makeHost(options), options.takeoverMs);
  return {
    async shutdown(graceMs) {
      takeover.stop();
      const parked = await options.engine.park(graceMs);
      await options.store.close();
      return parked;
    },
  };
}

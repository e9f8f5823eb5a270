/**
 * Takeover: every runner (`akts serve`, `akts worker`) looks for the project's unfinished sessions that nobody
 * holds, at start and then every `intervalMs` (a third of the lease TTL), and takes them over: durable ones replay
 * their journal, non-durable ones rerun, as `akts resume` does. A session whose runner died (its lease is freed at
 * once on the same machine, else when it expires) or stopped responding past its lease (fencing refuses its late
 * writes) is finished by a live peer with no restart. Sessions of other projects sharing the store are left to
 * their own runners. The store is only read through its interface, so this works on any store layout.
 */
import { isAktsError } from "../../errors";
import type { Host } from "./host";
import { SWEEP_EVERY_MS, describeSwept, sweepOperatorState } from "../store/operator-sweep";

export interface Takeover {
  /** Looks now, without waiting for the next tick (resolves when the look is done, not the sessions). */
  scan(): Promise<void>;
  stop(): void;
}

export function startTakeover(host: Host, intervalMs: number): Takeover {
  /** Sessions this loop took over that still run here: not claimed again while they do. */
  const mine = new Set<string>();
  let stopped = false;
  let scanning: Promise<void> | undefined;
  /** While the store cannot be listed: logged once when it starts and once when it ends. */
  let outage = false;
  /** The first look sweeps (operator-sweep.ts), then one every SWEEP_EVERY_MS. */
  let sweptAt = -Infinity;

  const look = async (): Promise<void> => {
    let sessions;
    try {
      sessions = await host.store.unfinished();
    } catch (err) {
      if (!outage) host.log(`cannot look for sessions to take over (${describe(err)}); looking again every ${intervalMs / 1000} s`);
      outage = true;
      return;
    }
    if (outage) host.log("the store answers again; taking over the sessions that need it");
    outage = false;
    for (const summary of sessions) {
      if (stopped) return;
      if (summary.project !== host.project || mine.has(summary.id)) continue;
      mine.add(summary.id);
      const resumed = host.engine
        .resume(summary.id, (header) => host.resolve(header.trigger, header))
        // Undefined: a live runner (maybe this one, for a session it started) holds the lease.
        .then((outcome) => outcome ?? { sessionId: summary.id, status: summary.status })
        .finally(() => mine.delete(summary.id));
      host.background(host.admission.track(summary.trigger, resumed));
    }
    // After the takeovers, which hold their slots: queued sessions start in the slots left.
    await host.admission.drainAll();
    if (Date.now() - sweptAt >= SWEEP_EVERY_MS) {
      sweptAt = Date.now();
      const swept = await sweepOperatorState(host.store).catch((err) => void host.log(`cannot sweep the store: ${describe(err)}`));
      const line = swept && describeSwept(swept);
      if (line) host.log(line);
    }
  };
  const scan = (): Promise<void> => (scanning ??= look().finally(() => (scanning = undefined)));
  const timer = setInterval(() => void scan(), Math.max(1, intervalMs));
  timer.unref();
  void scan();
  return {
    scan,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

function describe(err: unknown): string {
  if (isAktsError(err)) return `${err.code} ${err.message}`;
  return (err as Error)?.message ?? String(err);
}

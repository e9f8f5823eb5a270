/**
 * Schedule triggers: each firing of the cron expression (croner; six fields give seconds) starts a session with
 * the event type `tick` (AutoKitteh's) and `data: { trigger, scheduled_at }`. Firings do not wait for earlier
 * sessions to end, as in AutoKitteh; a firing missed while no server ran is not made up.
 */
import { Cron } from "croner";
import { triggeredEvent, type ScheduleData } from "../event";
import { newSessionId } from "../store/store";
import type { Host } from "./host";

/** Starts every schedule trigger; the returned function stops them all. */
export function startSchedules(host: Host): () => void {
  const jobs = host.triggers.filter((t) => t.type === "schedule").map((t) => {
    // croner hands its callback the time it ran, a little past the slot: the slot is tracked here instead.
    let slot: Date | null = null;
    const job = new Cron(t.schedule!, async () => {
      const data: ScheduleData = { trigger: t.name, scheduled_at: (slot ?? new Date()).toISOString() };
      slot = job.nextRun();
      try {
        const sessionId = newSessionId();
        const admitted = await host.admission.admit(t, triggeredEvent(data, "tick", sessionId), sessionId);
        if (!admitted.queued) host.background(admitted.running);
      } catch (err) {
        host.log(`schedule ${t.name}: ${(err as Error).message}`);
      }
    });
    slot = job.nextRun();
    return job;
  });
  return () => {
    for (const job of jobs) job.stop();
  };
}

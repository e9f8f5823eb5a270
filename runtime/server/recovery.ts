/**
 * On start, the project's unfinished sessions are taken over in the background, all at once (a session waiting
 * for an event must not hold up the others): durable ones replay their journal, non-durable ones rerun, as
 * `akts resume` does. Sessions of other projects sharing the store are left to their own server.
 */
import type { Host } from "./host";

export async function recoverSessions(host: Host): Promise<void> {
  const sessions = (await host.store.unfinished()).filter((s) => s.project === host.project);
  for (const summary of sessions) {
    const resumed = host.engine.resume(summary.id, (header) => host.resolve(header.trigger)).then(
      // Undefined: another live runner holds the session.
      (outcome) => outcome ?? { sessionId: summary.id, status: summary.status },
    );
    host.background(resumed);
  }
}

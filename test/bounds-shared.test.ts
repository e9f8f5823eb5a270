/**
 * max_concurrent is the trigger's, not a runner's: two `akts serve` on one store (a folder, or one PostgreSQL
 * database) together run at most the bound, in both modes, and the sessions one of them queued are started by the
 * other after it is SIGKILLed mid-way. Progress is read over HTTP from the live server; concurrency from the
 * handlers' log, which both servers append to.
 */
import { describe, expect, test } from "vitest";
import { admin, lines, mostAtOnce, operateProject, post, startServe, storeKinds, until, type Server } from "./operate-harness";

const { manifest, dir } = operateProject("bounds-shared");
const stores = storeKinds();
const BOUND = 2;
const PER_TRIGGER = 6;

/** Statuses of `ids` as the server lists them, once every one of them is finished. */
async function allEnded(server: Server, ids: readonly string[]): Promise<Map<string, string>> {
  return until(
    `${ids.length} sessions to end`,
    async () => {
      const listed = await admin(server, "GET", "/sessions?limit=1000");
      const status = new Map<string, string>(listed.body.sessions.map((s: any) => [s.session_id, s.status]));
      return ids.every((id) => ["completed", "failed", "cancelled"].includes(status.get(id) ?? "")) ? status : undefined;
    },
    120_000,
    250,
  );
}

describe.each(stores.kinds)("%s store", (kind) => {
  test("two servers sharing the store run at most max_concurrent of a trigger together, across a SIGKILL of one", async () => {
    const store = await stores.make(kind, dir);
    const a = await startServe(manifest, store);
    const b = await startServe(manifest, store);
    const triggers = ["bounded", "bounded_nd"];
    const log = (trigger: string) => `${dir}/${kind}-${trigger}.log`;
    const ids: string[] = [];
    const queuedByA: string[] = [];
    for (let i = 0; i < PER_TRIGGER; i++) {
      for (const trigger of triggers) {
        // Alternating: each server alone would start up to the bound itself.
        const server = i % 2 === 0 ? a : b;
        const answer = await post(server.url, trigger, { log: log(trigger), tag: `t${i}`, steps: 3, ms: 300 });
        expect(answer.status).toBe(202);
        ids.push(answer.body.session_id);
        if (server === a && answer.body.queued === true) queuedByA.push(answer.body.session_id);
      }
    }
    expect(queuedByA.length).toBeGreaterThan(0);
    // Mid-way: some sessions ran a step, none of the last ones has.
    await until("sessions to run", () => (triggers.every((t) => lines(log(t)).length >= 2) ? true : undefined));
    await a.kill();
    // A is gone: every line from here on is B's.
    const cut = new Map(triggers.map((t) => [t, lines(log(t)).length]));

    const status = await allEnded(b, ids);
    for (const id of ids) expect(status.get(id), id).toBe("completed");
    for (const trigger of triggers) {
      const all = lines(log(trigger));
      expect(mostAtOnce(all), `${trigger}:\n${all.join("\n")}`).toBeLessThanOrEqual(BOUND);
      // Every session ran to its cleanup once: none lost (also those A queued), none started twice. The one
      // exception is a session A ran to its cleanup and was killed before its end was written: B runs it again
      // (non-durable) or runs its unjournaled cleanup again (durable), after the kill.
      for (let i = 0; i < PER_TRIGGER; i++) {
        const at = all.flatMap((l, n) => (l === `t${i} cleanup` ? [n] : []));
        const once = at.length === 1 || (at.length === 2 && at[0] < cut.get(trigger)! && at[1] >= cut.get(trigger)!);
        expect(once, `${trigger} t${i}: cleanups at lines ${at.join(", ")}, A killed at line ${cut.get(trigger)}:\n${all.join("\n")}`).toBe(true);
      }
    }
    const listed = await admin(b, "GET", "/sessions?limit=1000");
    expect(listed.body.sessions).toHaveLength(ids.length);
    await b.kill();
  }, 180_000);
});

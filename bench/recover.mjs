/**
 * Row 9: a runner starting over 1,000 unfinished durable sessions (fsync `always`), as `akts resume` does: list
 * them, claim each, replay its journal and finish it, 64 at a time. Making the sessions is timed too, as context.
 */
import { dist, remove, scratch, time } from "./lib.mjs";
import { activities, durableSession, openStore, SITE } from "./durable.mjs";

const { Engine } = dist("runtime/engine.js");
const { call } = dist("runtime/stub.js");

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000);
const DONE_BEFORE_CRASH = 3;
/** Sessions resumed at once: their journal syncs overlap. */
const CONCURRENCY = 64;
const RESULT = { ok: true, id: "msg_01HZX3", ts: 1712345678 };
const api = async () => RESULT;

/** The handler the sessions ran: three activities were journaled before the "crash", the fourth runs live. */
async function handler() {
  for (let i = 0; i <= DONE_BEFORE_CRASH; i++) await call(SITE, undefined, api, []);
  return "done";
}

const trigger = { project: "bench", trigger: "t", handler: "bench.ts:handler", mode: "durable", maxAttempts: 3, codeHash: "h" };

export async function run({ only, quick }) {
  if (!only("9")) return [];
  const dir = scratch("recover");
  try {
    const creating = openStore(dir, "always");
    // A released lease without an end record is what an expired holder leaves.
    const create = await time(async () => {
      for (let i = 0; i < SESSIONS; i++) {
        const session = await durableSession(creating);
        await activities(session, DONE_BEFORE_CRASH, RESULT);
        await session.close();
      }
    });
    let completed = 0;
    const recover = await time(async () => {
      const store = openStore(dir, "always");
      const engine = new Engine({ store, runner: "recovering" });
      const queue = await store.unfinished();
      const worker = async () => {
        for (let summary; (summary = queue.shift()); ) {
          const outcome = await engine.resume(summary.id, async () => ({ trigger, handler }));
          if (outcome?.status === "completed") completed++;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    });
    if (completed !== SESSIONS) throw new Error(`recovered ${completed} of ${SESSIONS} sessions`);
    return [{ row: "9", what: "recover 1,000 unfinished durable sessions on start (fsync always)", unit: "ms", subject: recover, target: "< 2,000 ms", pass: recover < 2000, createMs: create, quick }];
  } finally {
    remove(dir);
  }
}

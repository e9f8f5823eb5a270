/** Drives real durable sessions through the stub, the session state and a file store, without the CLI. */
import { dist } from "./lib.mjs";

const { FileStore } = dist("runtime/store/file-store.js");
const { SessionState } = dist("runtime/session-state.js");
const { storage } = dist("runtime/context.js");
const { call, site } = dist("runtime/stub.js");
const { newSessionId } = dist("runtime/store/store.js");

export const SITE = site("bench.ts", 10, 5, "api.fetch", "external");

export function header(sessionId = newSessionId()) {
  return { t: "header", v: 1, sessionId, project: "bench", trigger: "t", handler: "bench.ts:handler", mode: "durable", codeHash: "h", event: null, createdAt: Date.now() };
}

/** The activity record the stub journals for `value` (its frame is what the raw baselines write). */
export function activityRecord(value, seq = 1) {
  const at = Date.now();
  return { t: "activity", seq, async: true, end: at, site: SITE.id, callee: SITE.callee, ok: true, start: at, value };
}

export function openStore(dir, fsync) {
  return new FileStore(dir, fsync);
}

/** A durable session on a new lease: `run(body)` runs `body` as the handler (calls inside are stubbed). */
export async function durableSession(store) {
  const lease = await store.create(header(), "bench");
  const state = new SessionState(lease.id, 1, true, lease, [], { take: async () => undefined, consumed: async () => {} });
  return {
    run: (body) => storage.run({ session: state, inActivity: false }, body),
    close: async () => {
      state.close();
      await lease.release();
    },
  };
}

/** `steps` awaited async activities returning `value`, one after another, as a handler awaiting an API would. */
export async function activities(session, steps, value) {
  const api = async () => value;
  await session.run(async () => {
    for (let i = 0; i < steps; i++) await call(SITE, undefined, api, []);
  });
}

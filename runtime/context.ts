/**
 * The session context travels with AsyncLocalStorage. Its one instance lives on globalThis under a registered
 * symbol, so two copies of the runtime in one process (a bundle's and the CLI's) share sessions instead of one
 * silently passing every call through.
 */
import { AsyncLocalStorage, executionAsyncId } from "node:async_hooks";
import type { SessionState } from "./session-state";

/** What the stubs see: the session, and whether they run inside an activity (then they pass through). */
export interface Frame {
  readonly session: SessionState;
  readonly inActivity: boolean;
  /** Inside an activity: its sequence number (the idempotency key is `sessionId:seq`). */
  readonly seq?: number;
}

/**
 * The storage, remembering its last lookup by execution async id (`currentFrame`). Each async resource has an id
 * of its own and its store is set when it is made, so outside `run` one id always finds the same frame; `run` sets
 * a store on the current resource for the length of its callback, so it forgets the lookup on entering and on
 * leaving. The stubs enter sessions only through `run` (never `enterWith` or `exit`, which would make a
 * remembered frame stale).
 */
class FrameStorage extends AsyncLocalStorage<Frame> {
  lastId = -1;
  lastFrame: Frame | undefined;

  override run<R, A extends unknown[]>(store: Frame, callback: (...args: A) => R, ...args: A): R {
    this.lastId = -1;
    try {
      return super.run(store, callback, ...args);
    } finally {
      this.lastId = -1;
    }
  }
}

const KEY = Symbol.for("akts.context");

type Holder = { [KEY]?: AsyncLocalStorage<Frame> };

export const storage: AsyncLocalStorage<Frame> = ((globalThis as Holder)[KEY] ??= new FrameStorage());

/** Undefined when an older copy of the runtime made the shared storage: its `run` does not forget lookups. */
const remembering = "lastId" in storage ? (storage as FrameStorage) : undefined;

/**
 * The current frame, as `storage.getStore()` finds it. A non-durable session's calls look it up while a durable
 * session is open in the process; the lookup is most of their cost, and a loop's calls all run under one id.
 */
export function currentFrame(): Frame | undefined {
  if (remembering === undefined) return storage.getStore();
  const id = executionAsyncId();
  if (id === remembering.lastId) return remembering.lastFrame;
  const frame = storage.getStore();
  remembering.lastId = id;
  remembering.lastFrame = frame;
  return frame;
}

const OPEN = Symbol.for("akts.durableSessions");

/**
 * How many durable sessions are open in this process (shared like the storage). While none is, the stubs pass
 * every call through without looking up the context, which is most of their cost (non-durable mode, v2's
 * default). A session counts from its creation until it is closed; one never closed only costs that speed.
 */
export const durableSessions: { open: number } = ((globalThis as { [OPEN]?: { open: number } })[OPEN] ??= { open: 0 });

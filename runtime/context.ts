/**
 * The session context travels with AsyncLocalStorage. Its one instance lives on globalThis under a registered
 * symbol, so two copies of the runtime in one process (a bundle's and the CLI's) share sessions instead of one
 * silently passing every call through.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { SessionState } from "./session-state";

/** What the stubs see: the session, and whether they run inside an activity (then they pass through). */
export interface Frame {
  readonly session: SessionState;
  readonly inActivity: boolean;
  /** Inside an activity: its sequence number (the idempotency key is `sessionId:seq`). */
  readonly seq?: number;
}

const KEY = Symbol.for("akts.context");

type Holder = { [KEY]?: AsyncLocalStorage<Frame> };

export const storage: AsyncLocalStorage<Frame> = ((globalThis as Holder)[KEY] ??= new AsyncLocalStorage<Frame>());

export function currentFrame(): Frame | undefined {
  return storage.getStore();
}

const OPEN = Symbol.for("akts.durableSessions");

/**
 * How many durable sessions are open in this process (shared like the storage). While none is, the stubs pass
 * every call through without looking up the context, which is most of their cost (non-durable mode, v2's
 * default). A session counts from its creation until it is closed; one never closed only costs that speed.
 */
export const durableSessions: { open: number } = ((globalThis as { [OPEN]?: { open: number } })[OPEN] ??= { open: 0 });

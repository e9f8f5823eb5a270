/**
 * Signals between sessions (docs/values.md), AutoKitteh's `signal` and `next_signal`: a signal is an event in the
 * receiver's inbox in the store, under a name of its own (`akts.signal:<name>`), so it reaches a receiver in any
 * process and wakes it as a delivered event does. Sending and receiving are journaled in durable sessions.
 */
import { aktsCall } from "./akts-call";
import { receive } from "./api";
import { storage } from "./context";
import { AktsError } from "../errors";
import { UNFINISHED, isSessionId, type Store } from "./store/store";

const PREFIX = "akts.signal:";

export interface Signal<T = unknown> {
  readonly name: string;
  readonly payload: T;
}

export interface NextSignalOptions {
  /** Milliseconds to wait; the deadline is journaled. Past it, nextSignal returns undefined. */
  readonly timeout?: number;
}

/**
 * The event id of the signal a durable sender sends at `token` (`sessionId:seq`): the same on every replay, so a
 * delivery repeated after a crash replaces the first instead of adding a second. Padded so ids sort by seq.
 */
function signalEventId(token: string): string {
  const at = token.lastIndexOf(":");
  return `evt_s_${token.slice(0, at)}_${token.slice(at + 1).padStart(10, "0")}`;
}

/** Sends `name` with `payload` to the unfinished session `sessionId`; an unknown or finished one is an error. */
export function signal(sessionId: string, name: string, payload: unknown = null): Promise<void> {
  return aktsCall("signal", async (env, token) => {
    const eventId = token === undefined ? undefined : signalEventId(token);
    const summary = isSessionId(sessionId) ? await env.store.get(sessionId) : undefined;
    if (!summary) throw new AktsError("AKTS6021", `signal '${name}': there is no session ${JSON.stringify(sessionId)} in ${env.store.location}`);
    if (!UNFINISHED.includes(summary.status)) {
      // Sent before a crash of this sender and received since: it was delivered once, which is all it asked.
      if (eventId !== undefined && (await received(env.store, sessionId, eventId))) return;
      throw new AktsError("AKTS6022", `signal '${name}': session ${sessionId} is ${summary.status}; it takes no more signals`);
    }
    await env.store.deliver(sessionId, PREFIX + name, payload, eventId);
  });
}

/** The signal names a wait on `names` (event names) is for, or undefined when it waits for an event. */
export function signalNames(names: string | readonly string[]): string[] | undefined {
  const list = typeof names === "string" ? [names] : names;
  return list.every((n) => n.startsWith(PREFIX)) ? list.map((n) => n.slice(PREFIX.length)) : undefined;
}

async function received(store: Store, sessionId: string, eventId: string): Promise<boolean> {
  return (await store.read(sessionId)).records.some((r) => r.t === "event" && r.id === eventId);
}

/**
 * Waits for a signal named `names` (or any of them) sent to this session; undefined once `timeout` passes. The
 * signal is journaled when received, so a replay gets it from the journal.
 */
export async function nextSignal<T = unknown>(names: string | readonly string[], options: NextSignalOptions = {}): Promise<Signal<T> | undefined> {
  const frame = storage.getStore();
  if (!frame) throw new AktsError("AKTS6020", "nextSignal() needs a running akts session");
  const list = typeof names === "string" ? [names] : [...names];
  if (list.length === 0) throw new AktsError("AKTS6023", "nextSignal() needs at least one signal name");
  const key = PREFIX + list.join("|");
  const got = await receive(frame, key, list.map((n) => PREFIX + n), options.timeout, (event) => ({ name: event.name.slice(PREFIX.length), payload: event.value }));
  return got.timedOut ? undefined : (got.value as Signal<T>);
}

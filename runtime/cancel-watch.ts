/**
 * Cancellations reach the sessions running in this process: while any runs, the store is asked every
 * CANCEL_POLL_MS which of them have a cancellation requested (one query for all of them), and those are told
 * (SessionState.requestCancel). The request may come from any process sharing the store (`akts cancel`, the admin
 * route of another server). A session is also asked once as it starts, so a request made while it was not running
 * (queued, or between runners) stops it at its first boundary past the journal; one nobody was told of yet (a sync
 * webhook's, created with `deferSync`) cannot have one.
 */
import type { SessionState } from "./session-state";
import { UNFINISHED, type SessionStatus, type Store } from "./store/store";
import { AktsError } from "../errors";

export const CANCEL_POLL_MS = 200;

const RESOLVED = Promise.resolve();

export class CancelWatch {
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly store: Store,
    private readonly live: ReadonlySet<SessionState>,
  ) {}

  /** Watches a session from now until it leaves `live`; resolves once it was asked about the first time (`askNow`). */
  watch(state: SessionState, askNow = true): Promise<void> {
    const asked = askNow ? this.ask([state]) : RESOLVED;
    if (this.timer) return asked;
    this.timer = setInterval(() => {
      if (this.live.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      if (this.polling) return;
      this.polling = true;
      void this.ask([...this.live]).finally(() => (this.polling = false));
    }, CANCEL_POLL_MS);
    this.timer.unref();
    return asked;
  }

  private async ask(states: readonly SessionState[]): Promise<void> {
    let requested: Set<string>;
    try {
      requested = await this.store.cancelRequests(states.map((s) => s.id));
    } catch {
      // A store that does not answer now is asked again at the next tick; the session's own writes report outages.
      return;
    }
    for (const state of states) if (requested.has(state.id)) state.requestCancel();
  }
}

/**
 * `akts cancel` and `POST /sessions/<id>/cancel`: records the request for the session's runner, wherever it runs.
 * A session queued for a slot keeps its place and stops at its first boundary once it starts. A finished session
 * is AKTS6034; an unknown one is undefined (the caller says it its way).
 */
export async function cancelSession(store: Store, id: string): Promise<{ status: SessionStatus | "queued" } | undefined> {
  const summary = await store.get(id);
  if (summary === undefined) {
    if (!(await store.queue.has(id))) return undefined;
    await store.requestCancel(id);
    return { status: "queued" };
  }
  if (!UNFINISHED.includes(summary.status)) throw new AktsError("AKTS6034", `session ${id} is ${summary.status}: there is nothing to cancel`);
  await store.requestCancel(id);
  return { status: summary.status };
}

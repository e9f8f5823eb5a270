/**
 * The handler's argument, as AutoKitteh gives it: `{ data, event_id, event_type, session_id }`. Webhooks,
 * schedules and `akts run` all build it here, so every trigger type hands the handler the same envelope.
 */
import { newEventId } from "./store/store";

export interface Event<T = unknown> {
  /** The trigger's payload: a webhook's request (WebhookData), a schedule's firing (ScheduleData), `akts run --event`'s JSON. */
  readonly data: T;
  /** `evt_...`; null for a manual start (`akts run`), as in AutoKitteh. */
  readonly event_id: string | null;
  /** A webhook's method in lower case (`post`), `tick` for a schedule; null for a manual start. */
  readonly event_type: string | null;
  readonly session_id: string;
}

/** A webhook's request, as AutoKitteh's webhook service gives it (every map has a null prototype). */
export interface WebhookData<J = unknown> {
  readonly body: {
    /** The body parsed as JSON; absent when it is not JSON. */
    readonly json?: J;
    /** The body as a string; present when it is non-empty valid UTF-8. */
    readonly text?: string;
    /** The raw body; present when it is non-empty. */
    readonly bytes?: Uint8Array;
    /** A url-encoded form's fields (several values joined with ", "); present when it has any. */
    readonly form?: Readonly<Record<string, string>>;
  };
  /** Header names in canonical form (`Content-Type`); several values joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly trailers: Readonly<Record<string, string>>;
  readonly method: string;
  /** The request target as sent: path and query, percent-encoded. */
  readonly raw_url: string;
  readonly url: {
    /** The decoded path. */
    readonly path: string;
    /** Several values joined with ", ". */
    readonly query: Readonly<Record<string, string>>;
    /** The path after `/webhooks/<trigger>/` ("" without one): a trigger serves its sub-paths. */
    readonly path_suffix: string;
  };
}

/** A schedule's firing. AutoKitteh's `data` is empty here; akts adds which trigger fired and the cron slot. */
export interface ScheduleData {
  readonly trigger: string;
  /** ISO time of the cron slot. */
  readonly scheduled_at: string;
}

/** A webhook handler's argument; `J` types `data.body.json`. */
export type WebhookEvent<J = unknown> = Event<WebhookData<J>>;
export type ScheduleEvent = Event<ScheduleData>;

/** The envelope of an event that arrived now (a request, a firing): it gets a fresh event id. */
export function triggeredEvent<T>(data: T, eventType: string, sessionId: string): Event<T> {
  return { data, event_id: newEventId(), event_type: eventType, session_id: sessionId };
}

/** The envelope of a manual start (`akts run`): no event id or type, as in AutoKitteh. */
export function manualEvent<T>(data: T, sessionId: string): Event<T> {
  return { data, event_id: null, event_type: null, session_id: sessionId };
}

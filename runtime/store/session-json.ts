/**
 * A session summary as akts shows it outside the process (`akts sessions --json`, the admin HTTP routes, the session
 * page): its id is `session_id`, as the webhook, `run` and `event` answers name it.
 */
import type { SessionSummary } from "./store";

export type SessionJson = Omit<SessionSummary, "id"> & { readonly session_id: string };

export function sessionJson({ id, ...rest }: SessionSummary): SessionJson {
  return { session_id: id, ...rest };
}

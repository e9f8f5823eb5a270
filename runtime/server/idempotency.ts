/**
 * A webhook's `Idempotency-Key` header (docs/operations.md): the first request with a key starts a session and the
 * key names it, in the store, for the trigger's `idempotency_retention` (24 h by default); a repeat within that
 * time starts nothing and is answered 202 with the same session id (and `idempotent-replayed: true`). A repeat
 * whose method, URL or body differ is refused, 422 AKTS7030, as Stripe does. The key is taken before the session
 * is made and names its id: a runner that dies in between leaves a key whose session the next repeat makes.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Trigger } from "../manifest";
import { newSessionId, type Store } from "../store/store";
import type { Admitted, SyncCaller } from "./admission";
import { HttpError } from "./http-error";
import type { Host } from "./host";

/** Longer keys are refused (Stripe allows 255 characters). */
const MAX_KEY_LENGTH = 255;

type AdmittedWebhook = Admitted | { sessionId: string; repeat: true };

/**
 * Admits the webhook's session (admission.ts), or answers a repeat of a keyed request with its session. Not async
 * itself: a request without a key gets admission's promise, with no layer of its own.
 */
export function admitWebhook(host: Host, trigger: Trigger, req: IncomingMessage, raw: Buffer, event: (sessionId: string) => unknown, caller?: SyncCaller): Promise<AdmittedWebhook> {
  const header = req.headers["idempotency-key"];
  if (header === undefined) {
    const sessionId = newSessionId();
    // A sync caller is told nothing before its answer. With a key (below) a repeat is told the session at once, so
    // that session's creation is synced before it runs.
    return host.admission.admit(trigger, event(sessionId), sessionId, caller, caller !== undefined);
  }
  return admitKeyed(host, trigger, req, raw, header, event, caller);
}

async function admitKeyed(host: Host, trigger: Trigger, req: IncomingMessage, raw: Buffer, header: string | string[], event: (sessionId: string) => unknown, caller?: SyncCaller): Promise<AdmittedWebhook> {
  if (typeof header !== "string" || header.length === 0 || header.length > MAX_KEY_LENGTH || /[\u0000-\u001f\u007f]/.test(header)) {
    throw new HttpError(400, `the Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} printable characters`, {}, "AKTS7031");
  }
  const digest = createHash("sha256").update(`${req.method} ${req.url}\n`).update(raw).digest("hex");
  // Unambiguous, and text PostgreSQL takes (no NUL).
  const key = JSON.stringify([host.project, trigger.name, header]);
  const fresh = newSessionId();
  const held = await host.store.idempotency.reserve(key, { sessionId: fresh, digest, expiresAt: Date.now() + trigger.idempotencyRetention * 1000 });
  if (held.digest !== digest) {
    throw new HttpError(422, `Idempotency-Key '${header}' was used with a different request to this trigger; send a new key for a new request`, {}, "AKTS7030");
  }
  const sessionId = held.sessionId;
  if (sessionId !== fresh && (await made(host.store, sessionId))) return { sessionId, repeat: true };
  try {
    return await host.admission.admit(trigger, event(sessionId), sessionId, caller);
  } catch (err) {
    // A repeat that arrived while the first request was making the same session.
    if (await made(host.store, sessionId)) return { sessionId, repeat: true };
    await host.store.idempotency.release(key, sessionId);
    throw err;
  }
}

async function made(store: Store, sessionId: string): Promise<boolean> {
  return (await store.get(sessionId)) !== undefined || (await store.queue.has(sessionId));
}

/**
 * `/webhooks/<trigger>[/sub/path]`: the request is the session's event (`{ data, event_id, event_type, session_id }`,
 * runtime/event.ts). An async trigger answers 202 with the session id once the session is in the store (header and
 * event synced); a sync one (`is_sync: true`) answers when the handler calls `httpOutcome()`/`outcome()` (the session
 * runs on) or else with its result, or 504 past its timeout while the session goes on. A sync session's creation is
 * not synced on its own unless the request has an Idempotency-Key (docs/stores.md, Durability): its next sync covers
 * it, and an answer before its end waits for a sync. The response shape a handler
 * may return is `responseShape` below (documented in docs/server.md).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Outcome } from "../engine";
import type { SyncCaller } from "./admission";
import { triggeredEvent } from "../event";
import type { SessionOutcome } from "../outcome";
import { jsonSafe } from "../store/json-safe";
import { readBody } from "./body";
import { webhookData, type RequestTarget } from "./event";
import { HttpError } from "./http-error";
import { admitWebhook } from "./idempotency";
import type { Host } from "./host";
import { sendError, sendJson } from "./respond";

/** Seconds a sync webhook waits for its handler when the trigger sets no `timeout`. */
export const DEFAULT_SYNC_TIMEOUT_S = 60;

const METHODS = ["GET", "POST"];

export async function handleWebhook(host: Host, maxBody: number, name: string, req: IncomingMessage, res: ServerResponse, url: RequestTarget): Promise<void> {
  // Webhooks are public: an unknown name is a plain 404 that does not list the project's triggers.
  const trigger = host.triggers.find((t) => t.name === name && t.type === "webhook");
  if (!trigger) throw new HttpError(404, `no webhook trigger '${name}'`);
  if (!METHODS.includes(req.method ?? "")) throw new HttpError(405, `${req.method} is not allowed on a webhook (GET, POST)`, { allow: METHODS.join(", ") });
  const raw = await readBody(req, maxBody);
  const data = webhookData(name, req, raw, url);
  const method = (req.method ?? "GET").toLowerCase();
  // What a sync caller is answered on, whichever comes first: the handler's httpOutcome()/outcome() (the session
  // runs on), the session's end, or the timeout. One promise for the three; the first one decides.
  let decided = false;
  let cancelTimeout: (() => void) | undefined;
  let settle!: (how: First) => void;
  let failed!: (err: unknown) => void;
  const settled = new Promise<First>((resolve, reject) => ((settle = resolve), (failed = reject)));
  const decide = (): boolean => {
    if (decided) return false;
    decided = true;
    cancelTimeout?.();
    return true;
  };
  const first = (how: First) => {
    if (decide()) settle(how);
  };
  const caller: SyncCaller = {
    answer: (outcome) => first({ early: outcome }),
    // The end is answered in the step that made its end record durable, by a response built before that sync: a
    // sync's wake-up finds the caches cold, and every promise between it and the answer would cost more there.
    ending(ended) {
      let reply: () => void;
      try {
        reply = replyTo(res, ended);
      } catch {
        // Answered once the session's promise has its end, as any end is: the failure is reported there.
        return () => {};
      }
      return () => {
        if (decided) return;
        first({ sent: true });
        reply();
      };
    },
  };
  // Acknowledged only once the session is in the store (or its queue): a failure before that is answered, and
  // leaves nothing. A repeated Idempotency-Key, or a trigger at its max_concurrent, starts nothing now.
  const admitted = await admitWebhook(host, trigger, req, raw, (sessionId) => triggeredEvent(data, method, sessionId), trigger.sync ? caller : undefined);
  if ("repeat" in admitted) return sendJson(res, 202, { session_id: admitted.sessionId }, { "idempotent-replayed": "true" });
  if (admitted.queued) return sendJson(res, 202, { session_id: admitted.sessionId, queued: true });
  const { sessionId, running, durable } = admitted;
  if (!trigger.sync) {
    host.background(running);
    sendJson(res, 202, { session_id: sessionId });
    return;
  }
  const seconds = trigger.timeout ?? DEFAULT_SYNC_TIMEOUT_S;
  running.then(
    (ended) => first({ ended }),
    (err: unknown) => {
      if (decide()) failed(err);
    },
  );
  if (!decided) cancelTimeout = deadlines.add(seconds * 1000, () => first(undefined));
  const how = await settled;
  // Answered already; what the session's promise still reports (it ended) is logged, as for a session nobody waits on.
  if (how !== undefined && "sent" in how) return host.background(running);
  if (how === undefined || "early" in how) {
    host.background(running);
    // Told of the session before it ended: its creation, whose sync was deferred, is made durable first.
    await durable();
  }
  if (how === undefined) {
    sendError(res, 504, "AKTS7007", `the handler did not answer within ${seconds} s; the session goes on`, { session_id: sessionId });
    return;
  }
  if ("early" in how) return send(res, sessionId, fromOutcome(how.early));
  replyTo(res, how.ended)();
}

/**
 * How a sync webhook's wait ended: early, at the session's end (answered by its `ending` as its end record became
 * durable, or else here), or (undefined) at the timeout.
 */
type First = { early: SessionOutcome } | { ended: Outcome } | { sent: true } | undefined;

interface Wait {
  readonly at: number;
  readonly fire: () => void;
}

/**
 * The sync webhooks' timeouts, on one timer instead of a timer made and cleared per request (each is an async
 * resource, and a lone one re-arms the event loop's timer twice). The waits of one duration end in the order they
 * began, so each duration keeps its waits in insertion order and only the first of each can be due.
 */
class Deadlines {
  private readonly byDuration = new Map<number, Set<Wait>>();
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires; a wait that ends sooner re-arms it. */
  private armedAt = Infinity;

  /** Calls `fire` in `ms` unless the returned function is called first. */
  add(ms: number, fire: () => void): () => void {
    const wait = { at: performance.now() + ms, fire };
    let waits = this.byDuration.get(ms);
    if (!waits) this.byDuration.set(ms, (waits = new Set()));
    waits.add(wait);
    if (wait.at < this.armedAt) this.arm(wait.at);
    return () => void waits.delete(wait);
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.armedAt = at;
    // Not holding the process open: a server's listening socket does.
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - performance.now())).unref();
  }

  private expire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const waits of this.byDuration.values()) {
      for (const wait of waits) {
        if (wait.at > now) {
          next = Math.min(next, wait.at);
          break;
        }
        waits.delete(wait);
        wait.fire();
      }
    }
    if (next < Infinity) this.arm(next);
  }
}

const deadlines = new Deadlines();

/** The answer to a session's end, built now and written when the returned function is called. */
function replyTo(res: ServerResponse, outcome: Outcome): () => void {
  const session = { session_id: outcome.sessionId };
  if (outcome.outcome) return response(res, outcome.sessionId, fromOutcome(outcome.outcome));
  if (outcome.parked) return () => sendError(res, 503, "AKTS7008", "the server is shutting down; the session resumes on its next start", session);
  if (outcome.status === "failed") return () => sendError(res, 500, outcome.error?.code ?? "AKTS6001", outcome.error?.message ?? "the session failed", session);
  return response(res, outcome.sessionId, fromValue(outcome.result));
}

/** A response ready to send. */
interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Send `body` as JSON whatever it is (httpOutcome's `json`). */
  readonly asJson?: boolean;
}

function fromOutcome(outcome: SessionOutcome): Answer {
  if (outcome.fn === "outcome") return fromValue(outcome.value);
  const { status, headers, body, json } = outcome.value as { status: number; headers: Record<string, string>; body?: unknown; json?: unknown };
  return json !== undefined ? { status, headers, body: json, asJson: true } : { status, headers, body };
}

/** A value the handler returned (or gave `outcome()`): a response shape, or else 200 JSON. */
function fromValue(value: unknown): Answer {
  return responseShape(value) ?? { status: 200, headers: {}, body: value ?? null, asJson: true };
}

function send(res: ServerResponse, sessionId: string, shape: Answer): void {
  response(res, sessionId, shape)();
}

/** `shape` as a response, built now and written when the returned function is called. */
function response(res: ServerResponse, sessionId: string, shape: Answer): () => void {
  // Text stays a string: Node sends it in one write with the head, where a buffer is a second chunk.
  let body: string | Buffer | undefined;
  let type: string | undefined;
  if (shape.asJson) [body, type] = [JSON.stringify(jsonSafe(shape.body)) ?? "null", "application/json"];
  else if (typeof shape.body === "string") [body, type] = [shape.body, "text/plain; charset=utf-8"];
  else if (shape.body instanceof Uint8Array) [body, type] = [Buffer.from(shape.body), "application/octet-stream"];
  else if (shape.body !== undefined) [body, type] = [Buffer.from(JSON.stringify(jsonSafe(shape.body))), "application/json"];
  const headers: Record<string, string> = {};
  if (type) headers["content-type"] = type;
  for (const [key, value] of Object.entries(shape.headers)) headers[key.toLowerCase()] = value;
  headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : (body?.length ?? 0));
  return () => {
    try {
      res.writeHead(shape.status, headers);
    } catch (err) {
      // Node refuses header names or values that are not valid HTTP.
      return sendError(res, 500, "AKTS7009", `the handler's response cannot be sent: ${(err as Error).message}`, { session_id: sessionId });
    }
    res.end(body);
  };
}

export interface ResponseShape {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/**
 * A result shapes the response when it is a plain object whose own keys are `status` plus optionally `headers`
 * and `body`, `status` is a whole number from 200 to 599, and `headers`, when present, is a plain object of
 * strings. Anything else (an object with other keys too, a status out of range) is data, answered as 200 JSON.
 */
export function responseShape(value: unknown): ResponseShape | undefined {
  if (!isPlainObject(value)) return undefined;
  const keys = Object.keys(value);
  if (!keys.includes("status") || keys.some((k) => k !== "status" && k !== "headers" && k !== "body")) return undefined;
  const { status, headers = {}, body } = value as { status: unknown; headers?: unknown; body?: unknown };
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) return undefined;
  if (!isPlainObject(headers) || Object.values(headers).some((v) => typeof v !== "string")) return undefined;
  return { status, headers: headers as Record<string, string>, body };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

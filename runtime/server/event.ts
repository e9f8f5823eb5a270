import type { IncomingMessage } from "node:http";
import { parseBody } from "./body";

/** The event a webhook trigger's handler receives: the whole request, body parsed by content type. */
export interface WebhookEvent {
  readonly type: "webhook";
  readonly trigger: string;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string | string[]>;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  /** The body as received, utf-8 (or base64 when `rawEncoding` says so), for signature checks. */
  readonly rawBody: string;
  readonly rawEncoding: "utf8" | "base64";
}

export function webhookEvent(trigger: string, req: IncomingMessage, raw: Buffer): WebhookEvent {
  const url = new URL(req.url ?? "/", "http://localhost");
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of url.searchParams) {
    const prev = query[key];
    query[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  const headers: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  const utf8 = raw.toString("utf8");
  const isText = Buffer.from(utf8, "utf8").equals(raw);
  return {
    type: "webhook",
    trigger,
    method: req.method ?? "GET",
    path: url.pathname,
    query,
    headers,
    body: parseBody(raw, req.headers["content-type"]),
    rawBody: isText ? utf8 : raw.toString("base64"),
    rawEncoding: isText ? "utf8" : "base64",
  };
}

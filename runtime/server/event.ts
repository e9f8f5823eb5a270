/** A webhook request as the handler's `data` (runtime/event.ts WebhookData), built as AutoKitteh's webhook service builds it. */
import type { IncomingMessage } from "node:http";
import type { WebhookData } from "../event";
import { joined, parseBody } from "./body";

/** What the router parsed of a request's target (`new URL(req.url, "http://localhost")`, or the same parts). */
export type RequestTarget = Pick<URL, "pathname" | "searchParams">;

/** `url` is the request's target as the router parsed it. */
export function webhookData(trigger: string, req: IncomingMessage, raw: Buffer, url: RequestTarget): WebhookData {
  const rawUrl = req.url ?? "/";
  const method = req.method ?? "GET";
  const path = decodedPath(url.pathname);
  return {
    body: parseBody(raw, req.headers["content-type"], method),
    headers: canonical(req.rawHeaders),
    trailers: canonical(req.rawTrailers),
    method,
    raw_url: rawUrl,
    url: { path, query: joined(url.searchParams), path_suffix: pathSuffix(path, trigger) },
  };
}

/** The path after `/webhooks/<trigger>/`: "" for the trigger's own path. */
export function pathSuffix(path: string, trigger: string): string {
  const own = `/webhooks/${trigger}`;
  return path.startsWith(`${own}/`) ? path.slice(own.length + 1) : "";
}

function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

/**
 * Header names as Go canonicalizes them (`content-type` → `Content-Type`), several values joined with ", " (as
 * `joined` does), from Node's raw name/value list (what `headersDistinct` is built from, without building it).
 */
function canonical(raw: readonly string[]): Record<string, string> {
  const map: Record<string, string> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = canonicalName(raw[i].toLowerCase());
    const value = raw[i + 1];
    map[name] = name in map ? `${map[name]}, ${value}` : value;
  }
  return map;
}

/** The canonical forms of header names seen so far: most requests repeat a few names. */
const canonicalNames = new Map<string, string>();
/** Names are the clients' to choose: past this many, new ones are not remembered. */
const CANONICAL_NAMES_KEPT = 1000;

function canonicalName(name: string): string {
  let found = canonicalNames.get(name);
  if (found === undefined) {
    found = name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
    if (canonicalNames.size < CANONICAL_NAMES_KEPT) canonicalNames.set(name, found);
  }
  return found;
}

/** A webhook request as the handler's `data` (runtime/event.ts WebhookData), built as AutoKitteh's webhook service builds it. */
import type { IncomingMessage } from "node:http";
import type { WebhookData } from "../event";
import { joined, parseBody } from "./body";

export function webhookData(trigger: string, req: IncomingMessage, raw: Buffer): WebhookData {
  const rawUrl = req.url ?? "/";
  const url = new URL(rawUrl, "http://localhost");
  const method = req.method ?? "GET";
  const path = decodedPath(url.pathname);
  return {
    body: parseBody(raw, req.headers["content-type"], method),
    headers: canonical(req.headersDistinct),
    trailers: canonical(req.trailersDistinct),
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

/** Header names as Go canonicalizes them (`content-type` → `Content-Type`), several values joined with ", ". */
function canonical(headers: Record<string, string[] | undefined>): Record<string, string> {
  return joined(
    Object.entries(headers).flatMap(([name, values]) => (values ?? []).map((v): [string, string] => [name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()), v])),
  );
}

/**
 * The admin routes of the project's stored values, behind the admin token: `GET /values` lists them
 * (`{ values: [{ key, value }] }`, sorted by key), `GET /values/<key>` reads one (404 when absent).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "./http-error";
import type { Host } from "./host";
import { sendJson } from "./respond";

/** `parts` is the decoded path below `/values`: `[]` or `[key]`. */
export async function handleValues(host: Host, parts: string[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET") throw new HttpError(405, `${req.method} is not allowed here (GET)`, { allow: "GET" });
  const values = await host.store.listValues(host.project);
  if (parts.length === 0) return sendJson(res, 200, { values });
  const found = parts.length === 1 ? values.find((v) => v.key === parts[0]) : undefined;
  if (!found) throw new HttpError(404, `no value '${parts.join("/")}'`);
  return sendJson(res, 200, found);
}

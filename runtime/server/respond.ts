/** How the server answers: JSON bodies, errors as `{"error": {"code", "message"}}`. */
import type { ServerResponse } from "node:http";
import { jsonSafe } from "../store/json-safe";
import type { Code } from "../../errors";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(jsonSafe(body)) ?? "null";
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: Code | string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  sendJson(res, status, { ...extra, error: { code, message } }, headers);
}

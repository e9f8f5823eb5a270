import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error";

/**
 * How deep a JSON body may nest (arrays and objects inside each other). Deeper input is refused before it is
 * parsed: the journal's encoder and the handler's own code recurse over the event, and a body nested thousands
 * deep would overflow their stacks instead of being a clear refusal.
 */
export const MAX_JSON_DEPTH = 512;

/** The client went away before its request was read: nothing to answer and nothing to log. */
export class ClientAbort extends Error {
  constructor() {
    super("the client closed the connection before its request was read");
  }
}

/** Reads the request body, refusing (413) as soon as it passes `limit` bytes instead of buffering it all. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, `request body of ${declared} bytes is over the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new HttpError(413, `request body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    // An aborted request ends in an error event (ECONNRESET, "aborted"): the client's doing, not the server's.
    req.on("error", () => reject(new ClientAbort()));
  });
}

/**
 * JSON.parse, refusing malformed JSON (400 AKTS7001) and nesting deeper than MAX_JSON_DEPTH (400 AKTS7015). The
 * depth is measured on the text first, so nothing deeper is ever built.
 */
export function parseJson(text: string): unknown {
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw new HttpError(400, `JSON body nests ${depth} levels deep; the limit is ${MAX_JSON_DEPTH}`, {}, "AKTS7015");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `malformed JSON body: ${(err as Error).message}`);
  }
}

/** The deepest nesting of `[` and `{` outside strings (malformed text is left to JSON.parse to report). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** A webhook body as AutoKitteh's webhook service gives it: each part present only when the body has it. */
export interface WebhookBody {
  json?: unknown;
  text?: string;
  bytes?: Uint8Array;
  form?: Record<string, string>;
}

/**
 * Reads a body every way AutoKitteh does: `bytes` when non-empty, `text` when valid UTF-8, `form` for a url-encoded
 * POST with fields, `json` when the body parses as JSON whatever its content type. A body that declares itself
 * JSON (`application/json`, `+json`) must be: malformed or too deep is a 400, not a silently absent `json`.
 * JSON.parse defines `__proto__` as an own data property instead of setting the prototype, and forms are
 * null-prototype objects, so no body pollutes a prototype.
 */
export function parseBody(raw: Buffer, contentType: string | undefined, method: string): WebhookBody {
  const body: WebhookBody = {};
  if (raw.length === 0) return body;
  body.bytes = new Uint8Array(raw);
  const text = utf8(raw);
  if (text !== undefined) body.text = text;
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  // Valid UTF-8 decodes to `text` whichever decoder reads it: decoded once.
  if (type === "application/json" || type.endsWith("+json")) body.json = parseJson(text ?? raw.toString("utf8"));
  else if (text !== undefined && jsonDepth(text) <= MAX_JSON_DEPTH) {
    try {
      body.json = JSON.parse(text);
    } catch {
      // Not JSON: `json` stays absent, as in AutoKitteh.
    }
  }
  if (type === "application/x-www-form-urlencoded" && FORM_METHODS.has(method)) {
    const form = joined(new URLSearchParams(raw.toString("utf8")));
    if (Object.keys(form).length > 0) body.form = form;
  }
  return body;
}

/** The methods whose url-encoded body Go's ParseForm reads into the form. */
const FORM_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** One for the process: a decode without `stream` starts afresh, even after one that threw. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function utf8(raw: Buffer): string | undefined {
  try {
    return UTF8.decode(raw);
  } catch {
    return undefined;
  }
}

/** Name/value pairs as a null-prototype map, several values of a name joined with ", " (AutoKitteh's rule). */
export function joined(pairs: Iterable<[string, string]>): Record<string, string> {
  const map: Record<string, string> = Object.create(null);
  for (const [key, value] of pairs) map[key] = key in map ? `${map[key]}, ${value}` : value;
  return map;
}

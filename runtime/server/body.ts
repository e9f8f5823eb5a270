import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error";

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
    req.on("error", reject);
  });
}

/**
 * Parses a body by its content type. JSON is parsed with JSON.parse, which defines `__proto__` as an own data
 * property instead of setting the prototype, so a body cannot pollute prototypes; forms become null-prototype
 * objects for the same reason. Unknown types stay text (utf-8) or, when not valid utf-8, bytes.
 */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) {
    try {
      return JSON.parse(raw.toString("utf8"));
    } catch (err) {
      throw new HttpError(400, `malformed JSON body: ${(err as Error).message}`);
    }
  }
  if (type === "application/x-www-form-urlencoded") {
    const form: Record<string, string | string[]> = Object.create(null);
    for (const [key, value] of new URLSearchParams(raw.toString("utf8"))) {
      const prev = form[key];
      form[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
    return form;
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(raw);
  return type.startsWith("text/") || !text.includes("\uFFFD") ? text : new Uint8Array(raw);
}

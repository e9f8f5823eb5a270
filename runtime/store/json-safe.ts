/**
 * A JSON-safe copy of a journaled value, for summaries and `--json` output: bigint as `"12n"`, Date as ISO text,
 * Map as entry pairs, Set as an array, bytes as `"base64:..."`, URL as its href, Error as its name, message, stack,
 * own properties and cause, functions and symbols dropped, cycles cut as `"[Circular]"`. The journal keeps the exact value.
 */
export function jsonSafe(value: unknown, ancestors: readonly object[] = []): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function" || typeof value === "symbol") return undefined;
  if (typeof value !== "object" || value === null) return value;
  if (ancestors.includes(value)) return "[Circular]";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (value instanceof URL) return value.href;
  if (ArrayBuffer.isView(value)) return `base64:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")}`;
  if (value instanceof ArrayBuffer) return `base64:${Buffer.from(value).toString("base64")}`;
  const inner = [...ancestors, value];
  if (value instanceof Map) return [...value].map(([k, v]) => [jsonSafe(k, inner), jsonSafe(v, inner)]);
  if (value instanceof Set || Array.isArray(value)) return [...value].map((v) => jsonSafe(v, inner));
  if (value instanceof Error) {
    const { name, message, stack, cause } = value;
    return jsonSafe({ name, message, ...Object.fromEntries(Object.entries(value)), ...(stack === undefined ? {} : { stack }), ...(cause === undefined ? {} : { cause }) }, ancestors);
  }
  if (value instanceof Response) return { status: value.status, url: value.url, headers: Object.fromEntries(value.headers) };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v, inner)]));
}

/** One line for an error value: `Name: message` for an Error, else its JSON. */
export function errorLine(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  const safe = jsonSafe(error);
  return typeof safe === "string" ? safe : JSON.stringify(safe);
}

/**
 * The journal codec: msgpack (msgpackr) over a *data projection* of each value. The projection keeps what the
 * journal can give back faithfully (primitives, bigint, null/undefined, plain objects and arrays, Date, Map,
 * Set, RegExp, Error, URL, Uint8Array/Buffer/ArrayBuffer, fetch Response/Headers, cycles); drops functions and
 * turns other class instances into plain objects of their own data properties, reporting each drop by path;
 * and refuses values it cannot represent at all (UnserializableResultError) before anything is written.
 */
import { addExtension, Packr } from "msgpackr";
import type { Site } from "./site";
import { UnserializableResultError } from "./errors";

/** A fetch Response whose body was read into memory, so the journal can hold it and a replay can re-read it. */
class BufferedResponseClass {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: [string, string][],
    readonly url: string,
    readonly body: Uint8Array,
  ) {}

  toResponse(): Response {
    const nullBody = this.status === 204 || this.status === 205 || this.status === 304;
    const res = new Response(nullBody ? null : this.body, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    Object.defineProperty(res, "url", { value: this.url });
    return res;
  }
}

// Extension types of our own, clear of the ones msgpackr uses itself (0x42, 0x52, 0x62, 0x65, 0x69, 0x70...).
/**
 * One class per process, shared through a registered symbol: the codec registers its extensions on the one
 * msgpackr instance, and two copies of the runtime (a bundle's and the CLI's) must recognize each other's values.
 */
const SHARED = Symbol.for("akts.BufferedResponse");
export const BufferedResponse: typeof BufferedResponseClass = ((globalThis as { [SHARED]?: typeof BufferedResponseClass })[SHARED] ??= BufferedResponseClass);
export type BufferedResponse = BufferedResponseClass;

const EXT_ERROR = 0x20;
const EXT_URL = 0x21;
const EXT_RESPONSE = 0x22;
const EXT_HEADERS = 0x23;

const GLOBAL_ERRORS: Record<string, ErrorConstructor> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  cause?: unknown;
  props: Record<string, unknown>;
}

/** Errors keep class name, message, stack, cause and own properties (`code`, `status`...). */
function restoreError(data: ErrorData): Error {
  const Ctor = GLOBAL_ERRORS[data.name] ?? Error;
  const err = data.cause === undefined ? new Ctor(data.message) : new Ctor(data.message, { cause: data.cause });
  if (!(data.name in GLOBAL_ERRORS)) Object.defineProperty(err, "name", { value: data.name, writable: true, configurable: true });
  Object.defineProperty(err, "stack", { value: data.stack, writable: true, configurable: true });
  Object.assign(err, data.props);
  return err;
}

addExtension({
  Class: Error,
  type: EXT_ERROR,
  pack: undefined,
  write(err: Error): ErrorData {
    const props: Record<string, unknown> = {};
    for (const key of Object.keys(err)) if (key !== "cause" && key !== "stack" && key !== "message") props[key] = (err as never)[key];
    return { name: err.name, message: err.message, stack: err.stack, cause: err.cause, props };
  },
  read: restoreError,
});
addExtension({ Class: URL, type: EXT_URL, write: (u: URL) => u.href, read: (href: string) => new URL(href) });
addExtension({
  Class: BufferedResponse,
  type: EXT_RESPONSE,
  write: (r: BufferedResponse) => [r.status, r.statusText, r.headers, r.url, r.body],
  read: ([status, statusText, headers, url, body]: [number, string, [string, string][], string, Uint8Array]) =>
    new BufferedResponse(status, statusText, headers, url, body).toResponse(),
});
addExtension({
  Class: Headers,
  type: EXT_HEADERS,
  write: (h: Headers) => [...h],
  read: (entries: [string, string][]) => new Headers(entries),
});

const packr = new Packr({
  structuredClone: true,
  moreTypes: true,
  int64AsType: "bigint",
  useBigIntExtension: true,
});

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

export interface Projection {
  readonly value: unknown;
  /** Paths of what was dropped (functions) or flattened (class instances), e.g. `$.config.adapter`. */
  readonly dropped: string[];
}

const KEPT_CLASSES: readonly Function[] = [Date, Map, Set, RegExp, Error, URL, Headers, BufferedResponse, ArrayBuffer];

function unprojectable(value: object): string | undefined {
  if (value instanceof WeakMap) return "a WeakMap";
  if (value instanceof WeakSet) return "a WeakSet";
  if (value instanceof WeakRef) return "a WeakRef";
  if (value instanceof Promise) return "a Promise (await it inside the activity)";
  if (typeof (value as { on?: unknown }).on === "function" && typeof (value as { emit?: unknown }).emit === "function")
    return `a live ${value.constructor?.name ?? "EventEmitter"} (stream, socket or process handle)`;
  if (value instanceof Response) return "an unbuffered Response (internal: prepare() was not awaited)";
  return undefined;
}

/**
 * Projects `value` to what the journal stores. Throws UnserializableResultError (naming `site` and the path)
 * for values with no data projection. Pure data comes back unchanged (same identity), so the common case
 * allocates nothing but the walk.
 */
export function project(value: unknown, site: Pick<Site, "callee" | "id">): Projection {
  const dropped: string[] = [];
  const seen = new Map<object, unknown>();

  function walk(v: unknown, path: string): unknown {
    switch (typeof v) {
      case "string":
      case "number":
      case "boolean":
      case "bigint":
      case "undefined":
        return v;
      case "symbol":
        throw new UnserializableResultError(site, path, "a symbol");
      case "function":
        dropped.push(path);
        return undefined;
    }
    if (v === null) return v;
    const obj = v as object;
    if (seen.has(obj)) return seen.get(obj);
    if (ArrayBuffer.isView(obj)) return obj;
    const bad = unprojectable(obj);
    if (bad) throw new UnserializableResultError(site, path, bad);
    if (Array.isArray(obj)) {
      let copy: unknown[] | undefined;
      seen.set(obj, obj);
      for (let i = 0; i < obj.length; i++) {
        const item = walk(obj[i], `${path}[${i}]`);
        if (item !== obj[i] && !copy) {
          copy = obj.slice(0, i);
          seen.set(obj, copy);
        }
        if (copy) copy.push(item);
      }
      return copy ?? obj;
    }
    if (obj instanceof Map) {
      seen.set(obj, obj);
      for (const [k, item] of obj) walk(k, `${path}<key>`), walk(item, `${path}.get(${String(k)})`);
      return obj;
    }
    if (obj instanceof Set) {
      seen.set(obj, obj);
      for (const item of obj) walk(item, `${path}<item>`);
      return obj;
    }
    if (KEPT_CLASSES.some((C) => obj instanceof C)) {
      if (obj instanceof Error && obj.cause !== undefined) walk(obj.cause, `${path}.cause`);
      return obj;
    }
    const proto = Object.getPrototypeOf(obj);
    const plain = proto === Object.prototype || proto === null;
    if (!plain) dropped.push(`${path} (${proto?.constructor?.name ?? "object"} → plain object)`);
    let copy: Record<string, unknown> | undefined = plain ? undefined : {};
    seen.set(obj, copy ?? obj);
    const keys = Object.keys(obj);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = (obj as Record<string, unknown>)[key];
      const projected = walk(item, `${path}.${key}`);
      if (projected !== item && !copy) {
        copy = {};
        for (let j = 0; j < i; j++) copy[keys[j]] = (obj as Record<string, unknown>)[keys[j]];
        seen.set(obj, copy);
      }
      if (copy && !(typeof item === "function")) copy[key] = projected;
    }
    return copy ?? obj;
  }

  return { value: walk(value, "$"), dropped };
}

/** Finds fetch Responses anywhere in `value`, so their bodies can be buffered before projection. */
function findResponses(value: unknown, found: Set<Response>, seen: Set<object>): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Response) {
    found.add(value);
    return;
  }
  if (ArrayBuffer.isView(value)) return;
  const items = value instanceof Map ? value.values() : value instanceof Set ? value.values() : Object.values(value);
  for (const item of items) findResponses(item, found, seen);
}

/**
 * Buffers the bodies of fetch Responses in `value` (through `clone()`, so the handler can still read the live
 * one) and returns a value in which each is a BufferedResponse. Values without Responses come back unchanged.
 */
export async function prepare(value: unknown): Promise<unknown> {
  if (value instanceof Response) return bufferResponse(value);
  if (typeof value !== "object" || value === null) return value;
  const found = new Set<Response>();
  findResponses(value, found, new Set());
  if (found.size === 0) return value;
  const buffered = new Map<Response, BufferedResponse>();
  for (const res of found) buffered.set(res, await bufferResponse(res));
  return replaceResponses(value, buffered, new Map());
}

async function bufferResponse(res: Response): Promise<BufferedResponse> {
  const body = res.bodyUsed ? new Uint8Array() : new Uint8Array(await res.clone().arrayBuffer());
  return new BufferedResponse(res.status, res.statusText, [...res.headers], res.url, body);
}

function replaceResponses(value: unknown, buffered: Map<Response, BufferedResponse>, seen: Map<object, unknown>): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Response) return buffered.get(value);
  if (seen.has(value) || ArrayBuffer.isView(value)) return seen.get(value) ?? value;
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    for (const [k, v] of value) copy.set(k, replaceResponses(v, buffered, seen));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    for (const v of value) copy.add(replaceResponses(v, buffered, seen));
    return copy;
  }
  const copy: Record<string, unknown> = Array.isArray(value) ? ([] as never) : {};
  seen.set(value, copy);
  for (const [k, v] of Object.entries(value)) copy[k] = replaceResponses(v, buffered, seen);
  return copy;
}

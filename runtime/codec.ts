/**
 * The journal codec: msgpack (msgpackr) over a *data projection* of each value. The projection keeps what the
 * journal can give back faithfully (primitives, bigint, null/undefined, plain objects and arrays, Date, Map,
 * Set, RegExp, Error, URL, typed arrays/Buffer/ArrayBuffer, fetch Response/Headers, cycles and shared
 * references); drops functions and nested live handles and turns other class instances into plain objects of
 * their own data properties, reporting each by path; and refuses values it cannot represent at all
 * (UnserializableResultError) before anything is written. Rules and reasons: docs/journal.md.
 */
import { addExtension, Packr, RESERVE_START_SPACE } from "msgpackr";
import type { Site } from "./site";
import { UnserializableResultError } from "./errors";
import { registeredErrorClass } from "./error-class";

/** A fetch Response whose body was read into memory, so the journal can hold it and a replay can re-read it. */
class BufferedResponseClass {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: [string, string][],
    readonly url: string,
    readonly body: Uint8Array,
  ) {}
}

/**
 * One class per process, shared through a registered symbol: msgpackr's extensions are global to its module,
 * and two copies of the runtime (a bundle's and the CLI's) must recognize each other's values.
 */
const SHARED = Symbol.for("akts.BufferedResponse");
export const BufferedResponse: typeof BufferedResponseClass = ((globalThis as { [SHARED]?: typeof BufferedResponseClass })[SHARED] ??= BufferedResponseClass);
export type BufferedResponse = BufferedResponseClass;

const BODY_READERS = ["arrayBuffer", "blob", "bytes", "formData", "json", "text"] as const;

/**
 * A Response rebuilt from the journal. Its body readers and `clone()` each start from a fresh copy of the
 * buffered body, so a replayed handler can read it any number of times (a live one reads it once).
 */
function replayResponse(r: BufferedResponse): Response {
  const fresh = (): Response => {
    const nullBody = r.status === 204 || r.status === 205 || r.status === 304;
    const res = new Response(nullBody ? null : new Uint8Array(r.body), { status: r.status, statusText: r.statusText, headers: r.headers });
    Object.defineProperty(res, "url", { value: r.url });
    return res;
  };
  const res = fresh();
  for (const reader of BODY_READERS) {
    if (reader in res) Object.defineProperty(res, reader, { value: () => (fresh() as unknown as Record<string, () => unknown>)[reader]() });
  }
  Object.defineProperty(res, "clone", { value: () => replayResponse(r) });
  return res;
}

// Extension types of our own, clear of the ones msgpackr uses itself (0x42, 0x52, 0x62, 0x65, 0x69, 0x70...).
const EXT_ERROR = 0x20;
const EXT_URL = 0x21;
const EXT_RESPONSE = 0x22;
const EXT_HEADERS = 0x23;
const EXT_NEGATIVE_ZERO = 0x24;

const GLOBAL_ERRORS: Record<string, new (...args: any[]) => Error> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError,
};

interface ErrorData {
  /** `err.name`, or the class name when the class did not set one of its own. */
  name: string;
  /** The nearest built-in error class on the prototype chain: what the restored error is an instance of. */
  base: string;
  message: string;
  stack?: string;
  hasCause: boolean;
  cause?: unknown;
  /** AggregateError's `errors`. */
  errors?: unknown[];
  /** Own enumerable properties (`code`, `status`, ...). */
  props: Record<string, unknown>;
  /** The name of the error's own class, when it is not a built-in one. */
  cls?: string;
}

function errorData(err: Error): ErrorData {
  let base = "Error";
  for (let p = Object.getPrototypeOf(err); p !== null; p = Object.getPrototypeOf(p)) {
    const name = p.constructor?.name;
    // A prototype with no constructor (or one without a name) is no built-in class: look further up.
    if (name && GLOBAL_ERRORS[name] === p.constructor) {
      base = name;
      break;
    }
  }
  const className = err.constructor?.name;
  const name = err.name === base && className && !(className in GLOBAL_ERRORS) ? className : String(err.name);
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(err)) if (key !== "cause" && key !== "stack" && key !== "message" && key !== "name") props[key] = (err as never)[key];
  const hasCause = Object.prototype.hasOwnProperty.call(err, "cause");
  const data: ErrorData = { name, base, message: String(err.message), stack: err.stack, hasCause, props };
  if (hasCause) data.cause = err.cause;
  if (err instanceof AggregateError) data.errors = err.errors;
  if (className && GLOBAL_ERRORS[className] !== err.constructor) data.cls = className;
  return data;
}

/**
 * An Error of the recorded built-in class with the recorded name, message, stack, cause and properties, and its own
 * class's prototype when the code registered that class (./error-class.ts; its constructor does not run: it could
 * have effects).
 */
function restoreError(data: ErrorData): Error {
  const Ctor = GLOBAL_ERRORS[data.base] ?? Error;
  const options = data.hasCause ? { cause: data.cause } : undefined;
  const err = Ctor === AggregateError ? new AggregateError(data.errors ?? [], data.message, options) : new Ctor(data.message, options);
  const own = data.cls === undefined ? undefined : registeredErrorClass(data.cls);
  if (own && own.prototype instanceof Ctor) Object.setPrototypeOf(err, own.prototype);
  if (data.name !== err.name) Object.defineProperty(err, "name", { value: data.name, writable: true, configurable: true });
  Object.defineProperty(err, "stack", { value: data.stack, writable: true, configurable: true });
  Object.assign(err, data.props);
  return err;
}

addExtension({ Class: Error, type: EXT_ERROR, write: errorData, read: restoreError });
addExtension({ Class: URL, type: EXT_URL, write: (u: URL) => u.href, read: (href: string) => new URL(href) });
addExtension({
  Class: BufferedResponse,
  type: EXT_RESPONSE,
  write: (r: BufferedResponse) => [r.status, r.statusText, r.headers, r.url, r.body],
  read: ([status, statusText, headers, url, body]: [number, string, [string, string][], string, Uint8Array]) =>
    replayResponse(new BufferedResponse(status, statusText, headers, url, body)),
});
/** msgpack writes -0 as the integer 0; the projection swaps it for this marker so it comes back as -0. */
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();
addExtension({ Class: NegativeZero, type: EXT_NEGATIVE_ZERO, write: () => 0, read: () => -0 });
addExtension({ Class: Headers, type: EXT_HEADERS, write: (h: Headers) => [...h], read: (entries: [string, string][]) => new Headers(entries) });

/**
 * Key lists of the records the runtime writes most (journal records, errors, inbox events), shared by every frame
 * instead of defined inline in each: decoding an inline definition allocates a structure per frame, which was
 * most of a replay's time. Part of the journal format (versions 2 and 3): entries are never reordered or changed, only
 * added with a new format version. Objects of any other shape still define their record inline, so each frame
 * decodes alone with these structures.
 */
const SHARED_STRUCTURES: readonly (readonly string[])[] = [
  ["t", "seq", "site", "callee", "ok", "value", "async", "start", "end"],
  ["t", "seq", "site", "callee", "ok", "error", "async", "start", "end"],
  ["t", "attempt", "at"],
  ["t", "seq", "site", "deadline"],
  ["t", "seq", "name", "value", "at", "id"],
  ["t", "seq", "name", "value", "at", "timedOut"],
  ["t", "ok", "result", "at"],
  ["t", "ok", "error", "at"],
  ["t", "v", "sessionId", "project", "trigger", "handler", "mode", "codeHash", "manifest", "event", "createdAt"],
  ["name", "base", "message", "stack", "hasCause", "props"],
  ["name", "value"],
  // Version 3: activity records with what a replay reads before decoding them first (lazy-record.ts).
  ["t", "seq", "async", "end", "site", "callee", "ok", "start", "value"],
  ["t", "seq", "async", "end", "site", "callee", "ok", "start", "error"],
];

/** First byte of an activity record written in the version 3 layout: msgpackr's id of its shared structure. */
export const ACTIVITY_STRUCTURES: readonly number[] = SHARED_STRUCTURES.flatMap((keys, i) => (keys[2] === "async" ? [0x40 + i] : []));

/** The key of the outcome (the last field) of an activity record of structure `id`, one of ACTIVITY_STRUCTURES. */
export function activityOutcomeKey(id: number): "value" | "error" {
  return SHARED_STRUCTURES[id - 0x40][8] as "value" | "error";
}

/**
 * The msgpackr options of the journal's bytes: records (msgpackr's key-list structures) are on, because they
 * tell a plain object from a Map, with SHARED_STRUCTURES fixed and nothing else shared. A fresh object per call:
 * msgpackr keeps its encoding state on the structures array.
 */
export function codecOptions(): ConstructorParameters<typeof Packr>[0] {
  return {
    structuredClone: true,
    moreTypes: true,
    int64AsType: "bigint",
    useBigIntExtension: true,
    // Marked shared, as msgpackr marks the structures it loads: a frame that defines a record under one of their ids
    // (only a crafted or damaged journal holds one) then changes them for that frame only, not for every later one.
    structures: SHARED_STRUCTURES.map((keys) => Object.assign([...keys], { isShared: true })),
    maxSharedStructures: SHARED_STRUCTURES.length,
    shouldShareStructure: () => false,
  };
}

/** One instance for the process. */
const packr = new Packr(codecOptions());

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * Encodes `value` behind `headroom` (< 256) uninitialized bytes, in the encoder's arena: the caller fills the
 * headroom (a frame header) and gets a frame without a copy. The buffer stays valid; the arena moves on.
 */
export function encodeWithHeadroom(value: unknown, headroom: number): Buffer {
  return packr.pack(value, RESERVE_START_SPACE | headroom);
}

/**
 * An activity record in the layout the stub writes (the shared structure of its keys, in that order): its fields
 * before the outcome written here, as msgpackr writes them, and only the outcome packed by msgpackr, behind them.
 * The bytes are msgpackr's own for the whole record (test/codec.test.ts); what is saved is its walk of
 * the record (a transition lookup and a `pack` per field), a third of encoding a small activity. Undefined for
 * any other record, or one whose fields would not fit the headroom: the caller encodes it whole.
 */
export function encodeActivityWithHeadroom(record: unknown, headroom: number): Buffer | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const r = record as Record<string, unknown>;
  if (r.t !== "activity" || Object.getPrototypeOf(r) !== Object.prototype) return undefined;
  const { seq, async, end, site, callee, ok, start } = r;
  if (typeof seq !== "number" || typeof end !== "number" || typeof start !== "number" || typeof async !== "boolean" || typeof ok !== "boolean") return undefined;
  if (typeof site !== "string" || typeof callee !== "string") return undefined;
  const id = activityLayout(r);
  if (id === 0) return undefined;
  const names = nameBytes(site, callee);
  const before = headroom + 1 + ACTIVITY_T.length + numberSize(seq) + 1 + numberSize(end) + names.length + 1 + numberSize(start);
  if (before > 0xff) return undefined;
  // The outcome cannot refer back to the record (made after it), so msgpackr's reference table sees the same
  // objects, at the same offsets from the buffer's start, as in a pack of the whole record.
  const frame = packr.pack(id === ACTIVITY_STRUCTURES[0] ? r.value : r.error, RESERVE_START_SPACE | before);
  let at = headroom;
  frame[at++] = id;
  at = copyInto(frame, at, ACTIVITY_T);
  at = writeNumber(frame, at, seq);
  frame[at++] = async ? 0xc3 : 0xc2;
  at = writeNumber(frame, at, end);
  at = copyInto(frame, at, names);
  frame[at++] = ok ? 0xc3 : 0xc2;
  writeNumber(frame, at, start);
  return frame;
}

/** The keys before the outcome, shared by the activity layouts (value, then error: ACTIVITY_STRUCTURES's order). */
const ACTIVITY_KEYS = SHARED_STRUCTURES[ACTIVITY_STRUCTURES[0] - 0x40].slice(0, 8);

/** "activity" as msgpack (a fixstr). */
const ACTIVITY_T = Buffer.from([0xa8, ...Buffer.from("activity", "latin1")]);

/**
 * The structure id of the record when its own keys are one of the activity layouts in order, else 0. Walked with
 * `for...in` as msgpackr walks it, without the array `Object.keys` would make (the prototype was checked).
 */
function activityLayout(r: Record<string, unknown>): number {
  let i = 0;
  let last = "";
  for (const key in r) {
    if (i >= 9 || (i < 8 && key !== ACTIVITY_KEYS[i])) return 0;
    last = key;
    i++;
  }
  if (i !== 9) return 0;
  return last === "value" ? ACTIVITY_STRUCTURES[0] : last === "error" ? ACTIVITY_STRUCTURES[1] : 0;
}

/** A site's id and callee as msgpackr writes them, by site id: a process has a bounded set of sites. */
const siteNames = new Map<string, { readonly callee: string; readonly bytes: Buffer }>();
const NAMES_KEPT = 4096;

function nameBytes(site: string, callee: string): Buffer {
  const known = siteNames.get(site);
  if (known !== undefined && known.callee === callee) return known.bytes;
  if (siteNames.size >= NAMES_KEPT) siteNames.clear();
  const bytes = Buffer.concat([packr.pack(site), packr.pack(callee)]);
  siteNames.set(site, { callee, bytes });
  return bytes;
}

/** Copies a few bytes by hand (`set` costs more than the copy at this size); returns where they end. */
function copyInto(buf: Buffer, at: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) buf[at++] = bytes[i];
  return at;
}

/** Scratch for a double's big-endian bytes. */
const doubleBytes = new Uint8Array(8);
const doubleView = new DataView(doubleBytes.buffer);

/** Bytes msgpackr writes for the number `v` (with codecOptions: no float32, records on). */
function numberSize(v: number): number {
  if (v >>> 0 === v) return v < 0x40 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 5;
  if (v >> 0 === v) return v >= -0x20 ? 1 : v >= -0x80 ? 2 : v >= -0x8000 ? 3 : 5;
  return 9;
}

/** Writes `v` as msgpackr does (see numberSize) at `at`; returns where it ends. */
function writeNumber(buf: Buffer, at: number, v: number): number {
  if (v >>> 0 === v) {
    if (v < 0x40) buf[at++] = v;
    else if (v < 0x100) {
      buf[at++] = 0xcc;
      buf[at++] = v;
    } else if (v < 0x10000) {
      buf[at++] = 0xcd;
      buf[at++] = v >> 8;
      buf[at++] = v & 0xff;
    } else {
      buf[at++] = 0xce;
      at = buf.writeUInt32BE(v, at);
    }
  } else if (v >> 0 === v) {
    if (v >= -0x20) buf[at++] = 0x100 + v;
    else if (v >= -0x80) {
      buf[at++] = 0xd0;
      buf[at++] = v + 0x100;
    } else if (v >= -0x8000) {
      buf[at++] = 0xd1;
      at = buf.writeInt16BE(v, at);
    } else {
      buf[at++] = 0xd2;
      at = buf.writeInt32BE(v, at);
    }
  } else {
    buf[at++] = 0xcb;
    doubleView.setFloat64(0, v);
    for (let i = 0; i < 8; i++) buf[at++] = doubleBytes[i];
  }
  return at;
}

export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Reused by decodeAt: msgpackr reads the bounds and keeps no reference. */
const bounds = { start: 0, end: 0 };

/**
 * Small frames are decoded from a copy at the start of a scratch buffer: msgpackr reads the strings of data that
 * ends within a buffer's first 140 bytes in JavaScript rather than through its native string extraction, which for
 * the few short strings of a small record (most of a replay's) is faster and makes strings that compare faster.
 * The scratch buffer is reused, so that decoder copies binary values out (`copyBuffers`) instead of viewing them.
 */
const SMALL_FRAME = 140;
const scratch = Buffer.allocUnsafe(SMALL_FRAME);
const smallPackr = new Packr({ ...codecOptions(), copyBuffers: true });

/**
 * Record definitions met lately at the start of a decoded value (a frame's outcome, lazy-record.ts), by their bytes.
 * Each frame defines the records of its own shapes inline (`d4 72 <id> <keys>`), for which msgpackr builds a structure
 * and a reader every time, and a reader compiles only once it has been used a few times: a value `{ id, ok, name }`
 * took 0.40 µs so, and 0.15 µs through a compiled structure. A value that starts with a definition met before is
 * decoded as a reference to that definition's structure, kept in a slot of `knownPackr` (its values follow the
 * definition, as they follow a reference). Entries are compared byte for byte (id and keys), so another definition
 * under the same id never answers. A fixed table (a place per hash): what the process meets most stays, and the
 * memory is bounded.
 */
const DEFINITIONS = 64;
interface Definition {
  readonly bytes: Uint8Array;
  readonly keys: string[];
}
const definitions: (Definition | undefined)[] = new Array(DEFINITIONS).fill(undefined);
/** The first slot of the structures a frame defines inline. */
const FIRST_OWN_SLOT = SHARED_STRUCTURES.length;
/** The first id a frame defines inline (one-byte ids end at 0x7f; a two-byte definition is decoded as it is). */
const FIRST_OWN_ID = 0x40 + FIRST_OWN_SLOT;
/** Decodes `scratch` (copying binary values, as smallPackr) with one definition put in its structures beforehand. */
const knownPackr = new Packr({ ...codecOptions(), copyBuffers: true });
const knownStructures = (knownPackr as unknown as { structures: unknown[] & { sharedLength: number } }).structures;
// msgpackr drops the structures past `sharedLength` when an unpack starts: the slot filled before it must stay.
knownStructures.sharedLength = 0x40;
/** Returned by decodeKnown for a value that does not start with a definition it can take. */
export const UNKNOWN = Symbol("unknown definition");

/**
 * `bytes[start, end)` (which starts `d4 72`, and is a small frame: its binary values are copied, as decodeAt's small
 * frames' are) decoded through a known definition, or UNKNOWN. Exported for its tests: decodeAt decodes what it does
 * not take as msgpackr does, with the same result, so only a direct call shows which frames it takes.
 */
export function decodeKnown(bytes: Uint8Array, start: number, end: number): unknown {
  const id = bytes[start + 2];
  if (id < FIRST_OWN_ID || id >= 0x80) return UNKNOWN;
  let p = start + 3;
  const header = bytes[p];
  let count: number;
  if (header >= 0x90 && header <= 0x9f) {
    count = header - 0x90;
    p += 1;
  } else if (header === 0xdc) {
    count = (bytes[p + 1] << 8) | bytes[p + 2];
    p += 3;
  } else return UNKNOWN;
  // Keys written as strings, whose bytes name them; msgpackr turns any other key into a string its own way.
  for (let i = 0; i < count; i++) {
    if (p >= end) return UNKNOWN;
    const b = bytes[p];
    if (b >= 0xa0 && b <= 0xbf) p += 1 + b - 0xa0;
    else if (b === 0xd9) p += 2 + bytes[p + 1];
    else return UNKNOWN;
  }
  const from = start + 2;
  // Not `p > end`: a length read past the buffer's end is NaN.
  if (!(p <= end)) return UNKNOWN;
  let hash = 0x811c9dc5;
  for (let i = from; i < p; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  const place = (hash >>> 0) % DEFINITIONS;
  let known = definitions[place];
  if (known === undefined || !sameBytes(known.bytes, bytes, from, p)) {
    bounds.start = start + 3;
    bounds.end = p;
    // A copy: a Buffer's `slice` is a view, of an image that may be reused.
    known = { bytes: Uint8Array.prototype.slice.call(bytes, from, p), keys: knownPackr.unpack(bytes, bounds as never) as string[] };
    definitions[place] = known;
  }
  // The values as they follow a reference to the definition's id, whose slot holds its structure. No other slot past
  // the shared ones may hold one (an earlier frame's own definitions would answer references this frame does not
  // define), but the array is cut only when one may: cutting and growing it took a fifth of a decode. A frame's
  // first definition takes the first id, and its nested ones the ids after: then the array is that slot long.
  scratch[0] = id;
  const length = end - p + 1;
  for (let i = 1; i < length; i++) scratch[i] = bytes[p + i - 1];
  const slot = id - 0x40;
  if (slot !== FIRST_OWN_SLOT || knownStructures.length > FIRST_OWN_SLOT + 1) knownStructures.length = FIRST_OWN_SLOT;
  knownStructures[slot] = known.keys;
  bounds.start = 0;
  bounds.end = length;
  return knownPackr.unpack(scratch, bounds as never);
}

function sameBytes(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  if (a.length !== to - from) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[from + i]) return false;
  return true;
}

/** Decodes `bytes[start, end)` without slicing: msgpackr reuses the view it caches on `bytes`. */
export function decodeAt(bytes: Uint8Array, start: number, end: number): unknown {
  const length = end - start;
  if (length < SMALL_FRAME && length > 3 && bytes[start] === 0xd4 && bytes[start + 1] === 0x72) {
    // Bytes that do not decode are decoded again as they are, which reports them as it always did.
    try {
      const value = decodeKnown(bytes, start, end);
      if (value !== UNKNOWN) return value;
    } catch {}
  }
  if (length < SMALL_FRAME) {
    // Short ones byte by byte (a view is an allocation, which costs more than that loop); else a plain view and
    // `set`: Buffer's `copy` checks its arguments and makes the same view, at twice the cost.
    if (length < 64) for (let i = 0; i < length; i++) scratch[i] = bytes[start + i];
    else scratch.set(new Uint8Array(bytes.buffer, bytes.byteOffset + start, length));
    bounds.start = 0;
    bounds.end = length;
    return smallPackr.unpack(scratch, bounds as never);
  }
  bounds.start = start;
  bounds.end = end;
  return packr.unpack(bytes, bounds as never);
}

export interface Projection {
  readonly value: unknown;
  /** Paths of what was dropped (functions, nested live handles) or flattened (class instances), e.g. `$.config.adapter`. */
  readonly dropped: string[];
}

/** Kept as they are: the codec restores them itself. */
const KEPT_CLASSES: readonly Function[] = [Date, RegExp, URL, Headers, BufferedResponse, ArrayBuffer];

/** What makes a value impossible to journal at any depth, or undefined. */
function unprojectable(value: object): string | undefined {
  if (value instanceof WeakMap) return "a WeakMap";
  if (value instanceof WeakSet) return "a WeakSet";
  if (value instanceof WeakRef) return "a WeakRef";
  if (value instanceof Promise) return "a Promise (await it inside the activity)";
  if (value instanceof Response) return "an unbuffered Response (internal: prepare() was not awaited)";
  return undefined;
}

/** EventEmitters, streams, sockets, child processes: objects whose value is their connection to something live. */
function isLiveHandle(value: object): boolean {
  return typeof (value as { on?: unknown }).on === "function" && typeof (value as { emit?: unknown }).emit === "function";
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Projects `value` to what the journal stores. Throws UnserializableResultError (naming `site` and the path)
 * for values with no data projection. Pure data comes back unchanged (same identity), so the common case
 * allocates nothing but the walk; paths are only spelled out for reports.
 */
export function project(value: unknown, site: Pick<Site, "callee" | "id">): Projection {
  if (isPlainData(value)) return { value, dropped: [] };
  const projector = new Projector(site);
  const out = projector.walk(value);
  return { value: out === DROP ? undefined : out, dropped: projector.dropped };
}

/**
 * Whether the journal keeps `value` as it is: a plain primitive or a plain data tree, which holds no Response and
 * which `project` returns unchanged. One walk, where `holdsResponse` and then `project` make two.
 */
export function isPlainData(value: unknown): boolean {
  return isPlainPrimitive(value) || isDataTree(value);
}

/** Primitives msgpack keeps as they are (all but symbols and -0). */
function isPlainPrimitive(v: unknown): boolean {
  const type = typeof v;
  return type === "number" ? !Object.is(v, -0) : type !== "object" && type !== "function" && type !== "symbol";
}

/** Nodes `isDataTree` visits before giving up: a large, deep or cyclic value then takes the full walks. */
const TREE_BUDGET = 4096;
let treeBudget = 0;

/**
 * Plain objects (null-prototype ones too) and arrays down to plain primitives, null and byte arrays: what most
 * results are, API answers and webhook events included. Such a value projects to itself and holds no Response, so
 * neither walk (and its bookkeeping) is needed.
 */
function isDataTree(v: unknown): boolean {
  treeBudget = TREE_BUDGET;
  return isTree(v);
}

function isTree(v: unknown): boolean {
  if (typeof v !== "object" || v === null || --treeBudget < 0) return false;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false;
    for (let i = 0; i < v.length; i++) if (!isLeafOrTree(v[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) if (!isLeafOrTree((v as Record<string, unknown>)[keys[i]])) return false;
  return true;
}

function isLeafOrTree(v: unknown): boolean {
  return v === null || isPlainPrimitive(v) || ArrayBuffer.isView(v) || isTree(v);
}

/** Marks a dropped function or handle while walking; never escapes `project`. */
const DROP: unique symbol = Symbol("dropped");

/** A step of a reported path: a property name, an array index, or text spelled as is (`<key>`, `.get("k")`). */
type Step = string | number | { readonly raw: string };
const MAP_KEY = { raw: "<key>" };
const SET_ITEM = { raw: "<item>" };

class Projector {
  readonly dropped: string[] = [];
  /** Objects walked so far and what they became: cycles and shared references keep their shape. */
  private readonly seen = new Map<object, unknown>();
  /** The path to the value being walked, spelled out only when something is reported. */
  private readonly steps: Step[] = [];

  constructor(private readonly site: Pick<Site, "callee" | "id">) {}

  private path(): string {
    let text = "$";
    for (const step of this.steps) {
      if (typeof step === "number") text += `[${step}]`;
      else if (typeof step === "string") text += IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
      else text += step.raw;
    }
    return text;
  }

  private at(step: Step, v: unknown): unknown {
    if (isPlainPrimitive(v)) return v;
    this.steps.push(step);
    const out = this.walk(v);
    this.steps.pop();
    return out;
  }

  walk(v: unknown): unknown {
    switch (typeof v) {
      case "number":
        return Object.is(v, -0) ? NEGATIVE_ZERO : v;
      case "string":
      case "boolean":
      case "bigint":
      case "undefined":
        return v;
      case "symbol":
        throw new UnserializableResultError(this.site, this.path(), "a symbol");
      case "function":
        this.dropped.push(this.path());
        return DROP;
    }
    if (v === null) return v;
    const obj = v as object;
    const known = this.seen.get(obj);
    if (known !== undefined) return known;
    if (ArrayBuffer.isView(obj)) return obj;
    const bad = unprojectable(obj);
    if (bad) throw new UnserializableResultError(this.site, this.path(), bad);
    if (isLiveHandle(obj)) {
      const name = obj.constructor?.name ?? "EventEmitter";
      if (this.steps.length === 0) throw new UnserializableResultError(this.site, "$", `a live ${name} (stream, socket or process handle)`);
      this.dropped.push(`${this.path()} (live ${name})`);
      return DROP;
    }
    if (Array.isArray(obj)) return this.walkArray(obj);
    const proto = Object.getPrototypeOf(obj);
    if (proto === Object.prototype || proto === null) return this.walkProperties(obj, undefined);
    if (obj instanceof Map) return this.walkMap(obj);
    if (obj instanceof Set) return this.walkSet(obj);
    if (obj instanceof Error) return this.walkError(obj);
    if (KEPT_CLASSES.some((C) => obj instanceof C)) return obj;
    this.dropped.push(`${this.path()} (${proto?.constructor?.name ?? "object"} → plain object)`);
    return this.walkProperties(obj, {});
  }

  /**
   * Own enumerable string-keyed properties (getters are read, as JSON.stringify and structuredClone do), into
   * `copy` when given (a class instance) or into a copy made only once a property changes.
   */
  private walkProperties(obj: object, copy: Record<string, unknown> | undefined): unknown {
    const source = obj as Record<string, unknown>;
    this.seen.set(obj, copy ?? obj);
    const keys = Object.keys(obj);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = source[key];
      const projected = this.at(key, item);
      if (projected !== item && !copy) {
        copy = {};
        for (let j = 0; j < i; j++) copy[keys[j]] = source[keys[j]];
        this.seen.set(obj, copy);
      }
      if (copy && projected !== DROP) copy[key] = projected;
    }
    return copy ?? obj;
  }

  private walkArray(arr: unknown[]): unknown {
    let copy: unknown[] | undefined;
    this.seen.set(arr, arr);
    for (let i = 0; i < arr.length; i++) {
      const item = this.at(i, arr[i]);
      if (item !== arr[i] && !copy) {
        copy = arr.slice(0, i);
        this.seen.set(arr, copy);
      }
      // A dropped element keeps its index (JSON would write null; the journal keeps undefined).
      if (copy) copy.push(item === DROP ? undefined : item);
    }
    return copy ?? arr;
  }

  private walkMap(map: Map<unknown, unknown>): unknown {
    let copy: Map<unknown, unknown> | undefined;
    this.seen.set(map, map);
    let i = 0;
    for (const [k, item] of map) {
      const key = this.at(MAP_KEY, k);
      const projected = this.at({ raw: `.get(${typeof k === "string" ? JSON.stringify(k) : String(k)})` }, item);
      if ((key !== k || projected !== item) && !copy) {
        copy = new Map([...map].slice(0, i));
        this.seen.set(map, copy);
      }
      if (copy && key !== DROP && projected !== DROP) copy.set(key, projected);
      i++;
    }
    return copy ?? map;
  }

  private walkSet(set: Set<unknown>): unknown {
    let copy: Set<unknown> | undefined;
    this.seen.set(set, set);
    let i = 0;
    for (const item of set) {
      const projected = this.at(SET_ITEM, item);
      if (projected !== item && !copy) {
        copy = new Set([...set].slice(0, i));
        this.seen.set(set, copy);
      }
      if (copy && projected !== DROP) copy.add(projected);
      i++;
    }
    return copy ?? set;
  }

  /** An error keeps its identity unless its cause, `errors` or own properties needed projecting. */
  private walkError(err: Error): unknown {
    this.seen.set(err, err);
    const data = errorData(err);
    let changed = false;
    const projectPart = (step: string, v: unknown): unknown => {
      const out = this.at(step, v);
      if (out !== v) changed = true;
      return out;
    };
    if (data.hasCause) data.cause = projectPart("cause", data.cause);
    if (data.errors) data.errors = projectPart("errors", data.errors) as unknown[];
    for (const key of Object.keys(data.props)) {
      const out = projectPart(key, data.props[key]);
      if (out === DROP) delete data.props[key];
      else data.props[key] = out;
    }
    if (data.cause === DROP) data.cause = undefined;
    if (!changed) return err;
    const copy = restoreError(data);
    this.seen.set(err, copy);
    return copy;
  }
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
  // An error's cause is an own property that is not enumerable (the HTTP clients' errors keep their response enumerable).
  if (value instanceof Error && Object.prototype.hasOwnProperty.call(value, "cause")) findResponses(value.cause, found, seen);
  const items = value instanceof Map ? value.values() : value instanceof Set ? value.values() : Object.values(value);
  for (const item of items) findResponses(item, found, seen);
}

/** True when `value` holds a fetch Response anywhere: only then does it need `prepare`. */
export function holdsResponse(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (value instanceof Response) return true;
  if (isDataTree(value)) return false;
  const found = new Set<Response>();
  findResponses(value, found, new Set());
  return found.size > 0;
}

/**
 * Buffers the bodies of fetch Responses in `value` (through `clone()`, so the handler can still read the live
 * one) and returns a value in which each is a BufferedResponse. Values without Responses come back unchanged.
 * Call it (and await it) before `project`: reading a body is asynchronous, projecting is not.
 */
export async function prepare(value: unknown): Promise<unknown> {
  if (value instanceof Response) return bufferResponse(value);
  if (typeof value !== "object" || value === null || isDataTree(value)) return value;
  const found = new Set<Response>();
  findResponses(value, found, new Set());
  if (found.size === 0) return value;
  const buffered = new Map<Response, BufferedResponse>();
  for (const res of found) buffered.set(res, await bufferResponse(res));
  return replaceResponses(value, buffered, new Map());
}

/** A body already read by the activity itself cannot be read again: it is journaled as empty. */
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
  if (value instanceof Error) {
    // An error stays an error of its class: its message, stack and cause are own properties a copy must keep.
    const copy = Object.create(Object.getPrototypeOf(value)) as Error;
    seen.set(value, copy);
    for (const key of Reflect.ownKeys(value)) {
      const property = Object.getOwnPropertyDescriptor(value, key)!;
      if ("value" in property) property.value = replaceResponses(property.value, buffered, seen);
      Object.defineProperty(copy, key, property);
    }
    return copy;
  }
  const copy: Record<string, unknown> = Array.isArray(value) ? ([] as never) : {};
  seen.set(value, copy);
  for (const [k, v] of Object.entries(value)) copy[k] = replaceResponses(v, buffered, seen);
  return copy;
}

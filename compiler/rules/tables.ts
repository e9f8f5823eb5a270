/**
 * The lists the rules decide by (./site.ts, ./origin.ts, ./findings.ts), one place for both front ends (TypeScript
 * with types, Babel without). Keep every list here, not in the front ends.
 */
import type { SiteReason } from "../../stub-contract";

/** Node's builtin modules (with or without `node:`): calls into them are external. */
export const NODE_BUILTIN_MODULES: ReadonlySet<string> = new Set([
  "assert", "assert/strict", "async_hooks", "buffer", "child_process", "cluster", "console", "constants", "crypto",
  "dgram", "diagnostics_channel", "dns", "dns/promises", "domain", "events", "fs", "fs/promises", "http", "http2",
  "https", "inspector", "module", "net", "os", "path", "path/posix", "path/win32", "perf_hooks", "process",
  "punycode", "querystring", "readline", "readline/promises", "repl", "stream", "stream/consumers",
  "stream/promises", "stream/web", "string_decoder", "sys", "timers", "timers/promises", "tls", "trace_events",
  "tty", "url", "util", "util/types", "v8", "vm", "wasi", "worker_threads", "zlib", "test", "sqlite",
]);

/** `node:fs` and `fs` name the same module. */
export function normalizeModule(specifier: string): string {
  return specifier.startsWith("node:") ? specifier.slice(5) : specifier;
}

export function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || NODE_BUILTIN_MODULES.has(specifier);
}

/** A bare specifier names a package or builtin; relative and absolute paths are project code. */
export function isBareSpecifier(specifier: string): boolean {
  return !specifier.startsWith(".") && !specifier.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(specifier);
}

/** The module akts's own API is imported from: never an activity. */
export const AKTS_MODULES: ReadonlySet<string> = new Set(["akts", "akts/stub"]);

/**
 * Pure external functions: deterministic, no I/O, cheap. Calls to them run again on replay instead of being
 * journaled. Keys are `module:export path` (module normalized, without `node:`); `*` is every export.
 */
export const PURE_EXTERNALS: readonly string[] = [
  "path:*",
  "path/posix:*",
  "path/win32:*",
  "url:URL",
  "url:URLSearchParams",
  "url:parse",
  "url:format",
  "url:resolve",
  "url:fileURLToPath",
  "url:pathToFileURL",
  "url:domainToASCII",
  "url:domainToUnicode",
  "util:format",
  "util:formatWithOptions",
  "util:inspect",
  "util:isDeepStrictEqual",
  "util:types.*",
  "util:promisify",
  "util:callbackify",
  "util:deprecate",
  "util:inherits",
  "util:TextEncoder",
  "util:TextDecoder",
  "querystring:*",
  "buffer:Buffer.from",
  "buffer:Buffer.alloc",
  "buffer:Buffer.concat",
  "buffer:Buffer.byteLength",
  "buffer:Buffer.isBuffer",
  "string_decoder:*",
  "assert:*",
  "assert/strict:*",
  "events:EventEmitter",
];

/**
 * Globals whose calls are builtins, never activities, even though some are declared by `@types/node`
 * (Buffer, URL, TextEncoder...). Everything declared in TypeScript's own `lib.*.d.ts` is a builtin as well.
 */
export const BUILTIN_GLOBALS: ReadonlySet<string> = new Set([
  "Buffer", "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "AbortController", "AbortSignal",
  "structuredClone", "queueMicrotask", "console", "process.nextTick", "Headers", "Request", "Response", "FormData",
  "Blob", "atob", "btoa", "require",
]);

/** Global functions that do I/O and are activities although they are globals. */
export const EXTERNAL_GLOBALS: ReadonlyMap<string, SiteReason> = new Map([["fetch", "fetch"]]);

/**
 * Nondeterministic builtins: reported as info and, in durable mode, journaled so a replay sees the recorded value.
 * `new Date` only counts without arguments.
 */
export const NONDETERMINISTIC_CALLS: ReadonlySet<string> = new Set([
  "Date.now",
  "Math.random",
  "crypto.randomUUID",
  "crypto.getRandomValues",
  "performance.now",
]);
export const NONDETERMINISTIC_NEW: ReadonlySet<string> = new Set(["Date"]);

/** Timers: warned in workflow code, pointing to the runtime's durable `sleep`. */
export const TIMER_GLOBALS: ReadonlySet<string> = new Set(["setTimeout", "setInterval", "setImmediate"]);
export const TIMER_MODULES: ReadonlySet<string> = new Set(["timers", "timers/promises"]);

/** Promise combinators that make the outcome depend on timing. */
export const RACING_COMBINATORS: ReadonlySet<string> = new Set(["Promise.race", "Promise.any"]);

/** akts functions whose completion is journaled like an activity's, so they may take part in a race. */
export const JOURNALED_AKTS_CALLS: ReadonlySet<string> = new Set([
  "sleep",
  "nextEvent",
  "start",
  "signal",
  "nextSignal",
  "getValue",
  "setValue",
  "mutateValue",
  "checkAndSetValue",
  "addValues",
  "delValue",
  "listValuesKeys",
]);

/** akts functions a replay matches against the journal (or, for the patch guards, decides by it): steps of the replay shape. */
export const REPLAY_AKTS_CALLS: readonly string[] = ["sleep", "nextEvent", "patched", "deprecatePatch"];

/** Builtin collection methods that change the collection (module-level state, AKTS1003). */
export const COLLECTION_CLASSES: ReadonlySet<string> = new Set(["Array", "Map", "Set", "WeakMap", "WeakSet"]);
export const COLLECTION_MUTATORS: ReadonlySet<string> = new Set([
  "push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill", "copyWithin", "set", "delete", "clear", "add",
]);

/** Function names of akts's marking API. */
export const MARK_ACTIVITY = "activity";
export const MARK_NO_ACTIVITY = "noActivity";
export const JSDOC_ACTIVITY = "activity";
export const JSDOC_NO_ACTIVITY = "noActivity";

/**
 * Types the journal codec restores faithfully (besides primitives, plain objects and arrays). A result of
 * one of these may be used as a live object after the call.
 */
export const CODEC_CLASSES: ReadonlySet<string> = new Set([
  "Date", "Map", "Set", "RegExp", "Uint8Array", "Buffer", "ArrayBuffer", "Error", "URL", "Response", "Headers",
  "Array", "Object", "String", "Number", "Boolean", "BigInt", "Promise", "ReadonlyArray", "ReadonlyMap",
  "ReadonlySet", "Int8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
]);

/**
 * Pure externals that make a function calling the one they are given (`module:export` → the argument's index): a
 * call of what they make is a call of that function (`const execFileP = promisify(execFile)`). `f.bind(x)` is the
 * other such maker (see ./origin.ts `madeFrom`).
 */
export const FUNCTION_WRAPPERS: ReadonlyMap<string, number> = new Map([
  ["util:promisify", 0],
  ["util:callbackify", 0],
]);

/** User-extensible lists, from the plugin options (`allow`: never activities; `deny`: always activities). */
export interface RuleOptions {
  /** Extra pure externals, same `module:export` form as PURE_EXTERNALS (e.g. `lodash:*`). */
  readonly allow?: readonly string[];
  /** Externals that are activities even if a default list calls them pure (e.g. `util:promisify`). */
  readonly deny?: readonly string[];
}

function matches(pattern: string, key: string): boolean {
  if (pattern.endsWith("*")) return key.startsWith(pattern.slice(0, -1));
  return pattern === key;
}

/** PURE_EXTERNALS split once into exact keys and `*` prefixes: asked for every external call. */
const PURE_EXACT: ReadonlySet<string> = new Set(PURE_EXTERNALS.filter((p) => !p.endsWith("*")));
const PURE_PREFIXES: readonly string[] = PURE_EXTERNALS.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1));

/**
 * Is a call into `module` at export path `member` (e.g. `Buffer.from`, `chat.postMessage`, `default`) pure?
 * `deny` wins over both lists.
 */
export function isPureExternal(module: string, member: string, options: RuleOptions = {}): boolean {
  const key = `${normalizeModule(module)}:${member}`;
  if (options.deny?.some((p) => matches(p, key))) return false;
  return PURE_EXACT.has(key) || PURE_PREFIXES.some((p) => key.startsWith(p)) || (options.allow?.some((p) => matches(p, key)) ?? false);
}

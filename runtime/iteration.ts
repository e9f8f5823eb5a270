/**
 * Replayable iteration over what an activity returns: an async iterable (`octokit.paginate.iterator()`, S3
 * paginators, OpenAI streams, Notion's `iteratePaginatedAPI`), or an object that is thenable and async-iterable at
 * once (Stripe's list). The site's own record holds the result's shape instead of its value; each `next()`, and
 * the awaited value of a thenable, is journaled as a step of the same site. A replay hands the program an object
 * of the same shape that yields the recorded items without I/O. Resumed past the journal's end, the call is made
 * again live and its iterator advanced past the items the journal already gave.
 */
import { storage } from "./context";
import { site, type Site } from "./site";
import type { SessionState } from "./session-state";
import { continueAfter, cursorOf, type Cursor } from "./continuation";

/** What the site's record holds in place of an iterable result: its shape. */
const SHAPE = "akts:iterable";

export interface Shape {
  /** Has `then`: the program may await it as well as iterate it. */
  readonly thenable: boolean;
  /** Is its own iterator (an async generator): the program may call `next()` on it. */
  readonly iterator: boolean;
  /** The SDK cursor a resumed iteration continues with (continuation.ts); absent from older journals. */
  readonly cursor?: Cursor;
}

type Step = (session: SessionState, s: Site, fn: () => unknown) => unknown;

/**
 * Is this result iterated rather than read? An async iterable that is not a stream: a stream (`pipe`, `pipeTo`,
 * `getReader`) is a live object, which the journal does not keep (AKTS2001).
 */
export function isIterableResult(v: unknown): boolean {
  if ((typeof v !== "object" && typeof v !== "function") || v === null) return false;
  const o = v as Record<string | symbol, unknown>;
  return typeof o[Symbol.asyncIterator] === "function" && typeof o.pipe !== "function" && typeof o.pipeTo !== "function" && typeof o.getReader !== "function";
}

export function shapeOf(v: object): Shape {
  const o = v as Record<string, unknown>;
  const cursor = cursorOf(v);
  return { thenable: typeof o.then === "function", iterator: typeof o.next === "function", ...(cursor && { cursor }) };
}

/** The value the site's record keeps for an iterable result. */
export function shapeRecord(shape: Shape): { [SHAPE]: Shape } {
  return { [SHAPE]: shape };
}

/** The shape a recorded value holds, when the site's result was iterable. */
export function recordedShape(value: unknown): Shape | undefined {
  const shape = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[SHAPE] : undefined;
  return typeof shape === "object" && shape !== null ? (shape as Shape) : undefined;
}

/**
 * The object the program gets for an iterable result, live or replayed. `live` is the call's result when it ran in
 * this attempt; `call(args)` makes the call again (inside an activity) when a step must run live and there is none,
 * with `args` or with a cursor's (continuation.ts). `step` journals one step (the stub's durable call).
 */
export function replayableIterable(session: SessionState, s: Site, shape: Shape, live: object | undefined, args: readonly unknown[], call: (args: readonly unknown[]) => unknown, step: Step): object {
  let source = live as Record<string | symbol, unknown> | undefined;
  const liveSource = () => (source ??= call(args) as Record<string | symbol, unknown>);
  const nextSite = site(s.file, s.line, s.column, `${s.callee} (next)`, s.reason);
  const awaitSite = site(s.file, s.line, s.column, `${s.callee} (await)`, s.reason);

  /**
   * One pass over the items: the journal's first, then the live iterator's. The live iterator starts after the
   * journal's last item by the SDK's cursor, or else is advanced past the items the journal gave (reading their
   * pages again).
   */
  const iteration = (): AsyncIterableIterator<unknown> => {
    let index = 0;
    let last: unknown;
    let iterator: AsyncIterator<unknown> | undefined;
    const iterate = (from: object) => (from as Record<symbol, () => AsyncIterator<unknown>>)[Symbol.asyncIterator].call(from);
    const liveIterator = async (skip: number): Promise<AsyncIterator<unknown>> => {
      if (iterator) return iterator;
      const after = skip > 0 ? continueAfter(shape.cursor, args, last) : undefined;
      if (after === "done") return (iterator = { next: async () => ({ done: true, value: undefined }) });
      if (after) return (iterator = iterate(call(after) as object));
      const made = iterate(liveSource());
      for (let i = 0; i < skip; i++) await made.next();
      return (iterator = made);
    };
    const it: AsyncIterableIterator<unknown> = {
      next: () => {
        const skip = index++;
        const run = async () => (await liveIterator(skip)).next();
        const stepped = (storage.getStore()?.inActivity ? run() : step(session, nextSite, run)) as Promise<IteratorResult<unknown>>;
        return stepped.then((r) => ((last = r.value), r));
      },
      return: async (value?: unknown) => {
        await iterator?.return?.(value);
        return { done: true, value };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  };

  let awaited: Promise<unknown> | undefined;
  const then = (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) => {
    // A promise of the source, not the source: the step journals what awaiting it gives.
    const run = () => Promise.resolve(liveSource());
    awaited ??= Promise.resolve(storage.getStore()?.inActivity ? run() : step(session, awaitSite, run));
    return awaited.then(onFulfilled, onRejected);
  };

  const result: Record<string | symbol, unknown> = shape.iterator ? (iteration() as unknown as Record<string | symbol, unknown>) : { [Symbol.asyncIterator]: iteration };
  if (shape.thenable) result.then = then;
  return result;
}

/**
 * Where a resumed iteration picks up without reading again the pages the journal already holds: the real SDKs'
 * own cursors. A session resumed in the middle of `for await` replays the recorded items, then needs the live
 * iterator positioned after the last of them. Made again from the start, it would read every page before it; these
 * rules make the call again with the SDK's cursor instead. An iterable no rule knows is advanced item by item (its
 * pages read again), as before.
 */

/** The cursor an iterable result takes, told by its shape when the call first runs live. */
export type Cursor = "stripe";

/** Stripe's list object (`stripe.customers.list()`): thenable, async-iterable, with its auto-paging helpers. */
export function cursorOf(result: object): Cursor | undefined {
  const o = result as Record<string, unknown>;
  return typeof o.autoPagingEach === "function" && typeof o.autoPagingToArray === "function" ? "stripe" : undefined;
}

/**
 * Where the iteration goes after `last` (the last value the journal gave): the arguments of a call that starts
 * after it, "done" when `last` was the end, undefined when no cursor applies. `cursor` is what the call's shape
 * recorded.
 */
export function continueAfter(cursor: Cursor | undefined, args: readonly unknown[], last: unknown): readonly unknown[] | "done" | undefined {
  if (cursor === "stripe") return stripeAfter(args, last);
  return octokitAfter(args, last);
}

/** `stripe.x.list(params, options)`: `starting_after` the last item's id (a forward listing only). */
function stripeAfter(args: readonly unknown[], last: unknown): readonly unknown[] | undefined {
  const params = args[0] ?? {};
  const id = isRecord(last) ? last.id : undefined;
  if (typeof id !== "string" || !isRecord(params) || params.ending_before !== undefined) return undefined;
  return [{ ...params, starting_after: id }, ...args.slice(1)];
}

/**
 * `octokit.paginate.iterator(route, parameters)`: each page is a response whose `link` header names the next
 * page's URL, which the iterator takes as its `url` parameter. A last page with no next link ends the iteration.
 */
function octokitAfter(args: readonly unknown[], last: unknown): readonly unknown[] | "done" | undefined {
  if (!isRecord(last) || typeof last.status !== "number" || typeof last.url !== "string" || !isRecord(last.headers)) return undefined;
  const link = last.headers.link;
  const next = typeof link === "string" ? /<([^<>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
  if (next === undefined) return "done";
  const parameters = args[1] ?? {};
  return isRecord(parameters) ? [args[0], { ...parameters, url: next }] : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

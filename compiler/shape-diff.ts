/**
 * Compares two replay shapes (replay-shape.ts), function by function, and says for each change which recorded
 * sessions still replay on the new code (docs/versioning.md):
 * - `safe`: every session that has not ended (the change only adds steps after the end of an entry function);
 * - `safe-before`: sessions that have not reached `point` yet; those past it diverge there;
 * - `breaking`: every session that ran the function, since the first step it records differs.
 */
import type { FunctionShape, ReplayShape, Step } from "./replay-shape";
import { REPLAY_AKTS_CALLS } from "./rules/tables";

export type Verdict = "safe" | "safe-before" | "breaking";

export interface ShapeChange {
  /** `file#name` of the function. */
  readonly function: string;
  readonly verdict: Verdict;
  /** What changed, in a sentence. */
  readonly message: string;
  /** Where the old and the new code first differ (`file:line:column`); the old one is the point of `safe-before`. */
  readonly old?: string;
  readonly new?: string;
}

/** A step flattened for comparison: its kind and text, and where blocks open and close. */
interface Token {
  readonly key: string;
  readonly at: string;
  readonly journals: boolean;
  readonly describe: string;
}

const JOURNALING = new Set(["site", "call", ...REPLAY_AKTS_CALLS]);

function tokens(steps: readonly Step[], out: Token[] = []): Token[] {
  for (const s of steps) {
    out.push({ key: JSON.stringify([s.k, s.text ?? null]), at: s.at, journals: JOURNALING.has(s.k), describe: describe(s) });
    (s.blocks ?? []).forEach((b, i) => {
      out.push({ key: `(${i}`, at: s.at, journals: false, describe: `${describe(s)}, block ${i + 1}` });
      tokens(b, out);
      out.push({ key: `)${i}`, at: s.at, journals: false, describe: `the end of ${describe(s)}, block ${i + 1}` });
    });
  }
  return out;
}

function describe(s: Step): string {
  switch (s.k) {
    case "site":
      return `activity ${s.text}`;
    case "call":
      return `call of ${s.text!.slice(s.text!.indexOf("#") + 1)}`;
    case "sleep":
      return "sleep()";
    case "if":
    case "loop":
    case "switch":
      return `${s.k} (${s.text!.split("; ")[0]})`;
    default:
      return s.text === undefined ? s.k : `${s.k}(${s.text})`;
  }
}

/** The changes from `before` to `after`; `entries` are the keys of trigger handlers (where appending is safe). */
export function diffShapes(before: ReplayShape, after: ReplayShape, entries: ReadonlySet<string> = new Set()): ShapeChange[] {
  const olds = new Map(before.functions.map((f) => [f.key, f]));
  const news = new Map(after.functions.map((f) => [f.key, f]));
  const changes: ShapeChange[] = [];
  for (const [key, old] of olds) {
    const now = news.get(key);
    if (!now) {
      changes.push({ function: key, verdict: "safe-before", message: `${name(key)} no longer records anything: sessions past its first step diverge`, old: old.at });
    } else {
      const change = compare(old, now, entries.has(key));
      if (change) changes.push(change);
    }
  }
  for (const [key, now] of news) {
    // A new function changes sessions only through its callers, whose own shapes show the new call.
    if (!olds.has(key) && entries.has(key)) changes.push({ function: key, verdict: "safe", message: `${name(key)} is new`, new: now.at });
  }
  return changes;
}

function name(key: string): string {
  return key.slice(key.indexOf("#") + 1);
}

/** The ids of the `patched(...)` guards in `steps`, as written (`"audit"`). */
function guardIds(steps: readonly Step[], out = new Set<string>()): Set<string> {
  for (const s of steps) {
    if (s.k === "patched") out.add(s.text!);
    for (const b of s.blocks ?? []) guardIds(b, out);
  }
  return out;
}

/**
 * What sessions recorded before the new guards replay: each `if (patched(id))` whose id the old code lacks, as its
 * else block (a session recorded before the guard takes the old branch, runtime/patch.ts).
 */
function oldBranches(steps: readonly Step[], known: ReadonlySet<string>): Step[] {
  const out: Step[] = [];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const next = steps[i + 1];
    if (s.k === "patched" && !known.has(s.text!) && next?.k === "if" && next.text === `patched(${s.text})`) {
      out.push(...oldBranches(next.blocks![1], known));
      i++;
    } else {
      out.push(s.blocks ? { ...s, blocks: s.blocks.map((b) => oldBranches(b, known)) } : s);
    }
  }
  return out;
}

function compare(old: FunctionShape, now: FunctionShape, entry: boolean): ShapeChange | undefined {
  const a = tokens(old.steps);
  const known = guardIds(old.steps);
  const guards = [...guardIds(now.steps)].filter((id) => !known.has(id));
  if (guards.length > 0 && tokens(oldBranches(now.steps, known)).map((t) => t.key).join() === a.map((t) => t.key).join()) {
    const message = `${name(old.key)}: new code guarded by patched(${guards.join("), patched(")}); sessions recorded before it replay the old branch`;
    return { function: old.key, verdict: "safe", message, old: old.at, new: now.at };
  }
  const b = tokens(now.steps);
  let i = 0;
  while (i < a.length && i < b.length && a[i].key === b[i].key) i++;
  if (i === a.length && i === b.length) return undefined;
  const fn = name(old.key);
  if (i === a.length) {
    // Steps added after everything the old code records: an unfinished session replays all of it, then runs them.
    const verdict = entry ? "safe" : "safe-before";
    const message = entry
      ? `${fn}: ${b[i].describe} added after its last step`
      : `${fn}: ${b[i].describe} added at its end; a caller that calls it again (a loop) diverges`;
    return { function: old.key, verdict, message, old: old.at, new: b[i].at };
  }
  const recordedBefore = a.slice(0, i).some((t) => t.journals);
  const what = i === b.length ? `${a[i].describe} removed` : `${a[i].describe} became ${b[i].describe}`;
  return {
    function: old.key,
    verdict: recordedBefore ? "safe-before" : "breaking",
    message: `${fn}: ${what}`,
    old: a[i].at,
    new: (b[i] ?? b.at(-1))?.at ?? now.at,
  };
}

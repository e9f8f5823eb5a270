/**
 * The replay shape of a project: what a replay of its sessions depends on, and nothing else. Per function of
 * workflow code, the steps a session journals (activity sites by callee, nondeterministic builtins, `sleep`,
 * `nextEvent`, `patched`), the calls into project functions that make such steps, and the control flow around
 * them (conditions and loop headers as printed without comments, exits). Comments, formatting, arguments of
 * activities and code that makes no step are left out. The fingerprint is a hash of it (docs/versioning.md).
 */
import { createHash } from "node:crypto";

export interface Step {
  /** `site`, `sleep`, `nextEvent`, `patched`, `deprecatePatch`, `call`, `if`, `loop`, `switch`, `case`, `try`, `fn`, `return`, ... */
  readonly k: string;
  /** What the step is, as replay compares it: a site's callee, a condition, a loop header, an event name. */
  readonly text?: string;
  /** `file:line:column` of the step: reported, not hashed. */
  readonly at: string;
  /** Nested sequences: an `if`'s then and else, a loop's body, a `try`'s blocks. */
  readonly blocks?: readonly (readonly Step[])[];
}

export interface FunctionShape {
  /** `file#name`: the project file and the function's name (`handler`, `Shop.order`, `<anonymous>@12`). */
  readonly key: string;
  readonly at: string;
  readonly steps: readonly Step[];
}

export interface ReplayShape {
  readonly version: 1;
  /** Functions with at least one step, by key. */
  readonly functions: readonly FunctionShape[];
}

/** A step without its location: what the fingerprint hashes. */
function bare(step: Step): unknown {
  return [step.k, step.text ?? null, (step.blocks ?? []).map((b) => b.map(bare))];
}

/** The replay fingerprint: sha256 of the shape without locations, first 16 hex digits. */
export function fingerprint(shape: ReplayShape): string {
  const hash = createHash("sha256").update(`replay-shape ${shape.version}`);
  for (const fn of [...shape.functions].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    hash.update("\0").update(fn.key).update("\0").update(JSON.stringify(fn.steps.map(bare)));
  }
  return hash.digest("hex").slice(0, 16);
}

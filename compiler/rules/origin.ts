/**
 * Where a callee comes from: the fact every site decision starts from. Each front end finds it its own way (the
 * type checker's declaration; the scopes' bindings), and both fall back to the same rule when it has nothing else
 * to go on: the origin by the root's import (`importOrigin`).
 */
import type { SiteReason } from "../../stub-contract";
import { AKTS_MODULES, EXTERNAL_GLOBALS, FUNCTION_WRAPPERS, isBareSpecifier, isPureExternal, normalizeModule, type RuleOptions } from "./tables";

/**
 * - `project`: declared in a project file → not an activity (the file is rewritten itself).
 * - `lib`: ECMAScript/DOM lib or a builtin global → not an activity, unless nondeterministic (./site.ts).
 * - `akts`: akts's own API → not an activity.
 * - `module`: imported from a package or Node builtin `module`, reached through `member`.
 * - `global-external`: a global in EXTERNAL_GLOBALS (fetch).
 */
export type CalleeOrigin =
  | { kind: "project" }
  | { kind: "lib" }
  | { kind: "akts" }
  | { kind: "module"; module: string; member: string }
  | { kind: "global-external"; name: string };

/**
 * The origin by the root's import: a callee whose root name is bound to `import`/`require()` of `module` (taking
 * export `imported`, undefined for the whole module) and reached through `members` after it. A relative or
 * absolute specifier is project code; `akts` is akts's API; anything else is that module, at the export path
 * `imported.members` (`default` when empty).
 */
export function importOrigin(module: string, imported: string | undefined, members: readonly string[]): CalleeOrigin {
  if (AKTS_MODULES.has(module)) return { kind: "akts" };
  if (!isBareSpecifier(module)) return { kind: "project" };
  const member = [imported, ...members].filter((m): m is string => m !== undefined && m !== "").join(".") || "default";
  return { kind: "module", module: normalizeModule(module), member };
}

/** An unbound global called by name: `fetch` is external, any other is the lib's. */
export function globalOrigin(name: string): CalleeOrigin {
  return EXTERNAL_GLOBALS.has(name) ? { kind: "global-external", name } : { kind: "lib" };
}

/**
 * A function value made from another, whose calls are calls of that other (follow the value, not the declaration):
 * `f.bind(x)` (`method` is `bind`, of a function: `f` is the receiver, index -1) or a wrapper of FUNCTION_WRAPPERS
 * (`promisify(f)`: the index of `f` among the arguments). Undefined for any other call.
 */
export function madeFrom(maker: CalleeOrigin, method: string | undefined): number | undefined {
  if (method === "bind") return -1;
  return maker.kind === "module" ? FUNCTION_WRAPPERS.get(`${maker.module}:${maker.member}`) : undefined;
}

/** Is a call into this origin, as such, an activity, and why? */
export function activityReason(origin: CalleeOrigin, options: RuleOptions = {}): SiteReason | undefined {
  switch (origin.kind) {
    case "project":
    case "lib":
    case "akts":
      return undefined;
    case "global-external":
      return EXTERNAL_GLOBALS.get(origin.name);
    case "module":
      if (AKTS_MODULES.has(origin.module)) return undefined;
      return isPureExternal(origin.module, origin.member, options) ? undefined : "external";
  }
}

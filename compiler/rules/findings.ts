/**
 * Every finding the compiler makes, one definition each: its code (severity and title are errors/codes.ts's), its
 * message and hint, and whether a front end needs types to make it. Both front ends make a finding through its
 * definition, so they say the same thing; the Babel front end makes those that do not need types, and the parity
 * test and docs/babel.md's table follow `needsTypes`. A new finding is one entry here, its check, and its tests.
 */
import { CODES, type Code } from "../../errors/codes";
import type { Diagnostic } from "../types";

export interface FindingDefinition<A extends readonly unknown[]> {
  readonly code: Code;
  /** What it is about, as docs/babel.md's table names it. */
  readonly about: string;
  /** Needs the type checker: the Babel front end does not make it. */
  readonly needsTypes: boolean;
  readonly message: (...args: A) => string;
  readonly hint?: string;
}

const define = <A extends readonly unknown[]>(d: FindingDefinition<A>): FindingDefinition<A> => d;

const MODULE_STATE_HINT = "module state is not journaled: a replay starts from a freshly loaded module; keep state in local variables";

export const FINDINGS = {
  nondeterministic: define({
    code: "AKTS1001",
    about: "nondeterministic builtins",
    needsTypes: false,
    message: (callee: string) => `${callee} is nondeterministic: journaled in durable mode, so a replay sees the recorded value`,
  }),
  timer: define({
    code: "AKTS1002",
    about: "timers",
    needsTypes: false,
    message: (name: string) => `${name} in workflow code is not durable`,
    hint: 'use `await sleep(ms)` from "akts": its deadline is journaled',
  }),
  moduleWrite: define({
    code: "AKTS1003",
    about: "writes to module-level state",
    needsTypes: true,
    message: (name: string) => `workflow code writes module-level '${name}'`,
    hint: MODULE_STATE_HINT,
  }),
  moduleMutation: define({
    code: "AKTS1003",
    about: "mutating methods of module-level collections",
    needsTypes: true,
    message: (name: string, method: string) => `workflow code mutates module-level '${name}' (${method})`,
    hint: MODULE_STATE_HINT,
  }),
  race: define({
    code: "AKTS1004",
    about: "races over promises that are not activities",
    needsTypes: true,
    message: (combinator: string) => `${combinator} over promises that are not all activities: the winner can differ on replay`,
    hint: "race only activity calls, sleep() and nextEvent() (their completion order is journaled)",
  }),
  processEnv: define({
    code: "AKTS1005",
    about: "`process.env` reads",
    needsTypes: false,
    message: () => "process.env read in workflow code: its value can change between a run and its replay",
    hint: "declare the value in the manifest's vars, or read it once at module level",
  }),
  floatingActivity: define({
    code: "AKTS1006",
    about: "activity promises neither awaited nor used",
    needsTypes: true,
    message: (callee: string) => `the promise of activity ${callee} is neither awaited nor used: the session can end before it is journaled`,
    hint: "await it, return it, or collect it in Promise.all",
  }),
  callbackWrite: define({
    code: "AKTS1008",
    about: "callbacks handed to an activity that write state outside them",
    needsTypes: false,
    message: (callee: string, name: string) =>
      `the callback passed to ${callee} writes '${name}', declared outside it: the call is one activity, so a replay does not run the callback and '${name}' is left as it was`,
    hint: "collect the data inside an activity() that returns it (const ids = await collect()), and assign the result",
  }),
  iteratedStream: define({
    code: "AKTS2004",
    about: "activity results iterated as streams",
    needsTypes: true,
    message: (callee: string, site: string) =>
      `for await over the result of ${callee} at ${site}: it is a stream, which the journal does not keep, so a replay has nothing to iterate`,
    hint: "read the stream inside an activity() that returns the data (the lines, or the chunks joined)",
  }),
  liveObject: define({
    code: "AKTS2001",
    about: "activity results used as live objects",
    needsTypes: true,
    message: (what: string, where: string, type: string, callee: string, site: string) =>
      `${what} at ${where}: ${type} is not journaled (the result of ${callee} at ${site} is used as a live object)`,
    hint: "group the work in an activity() function that returns data, or wrap the call that makes the object in noActivity() so it is made again on replay",
  }),
} as const;

export type Position = { readonly file: string; readonly line: number; readonly column: number };

/** A finding of `definition` at a position, its message made of `args`. */
export function finding<A extends readonly unknown[]>(definition: FindingDefinition<A>, at: Position, ...args: A): Diagnostic {
  const { code, hint } = definition;
  return { code, severity: CODES[code].severity, file: at.file, line: at.line, column: at.column, message: definition.message(...args), ...(hint ? { hint } : {}) };
}

/** The codes the Babel front end makes: those of the definitions that need no types. */
export const SYNTACTIC_CODES: ReadonlySet<Code> = new Set(Object.values(FINDINGS).filter((d) => !d.needsTypes).map((d) => d.code));

/** What the routes, the scheduler and the takeover loop share: the engine and store, the project's triggers and how to get a handler. */
import { isAktsError } from "../../errors";
import type { Engine, Handler, Outcome, TriggerRef } from "../engine";
import type { Trigger } from "../manifest";
import type { Store } from "../store/store";
import { Admission } from "./admission";

/**
 * A trigger's handler, by trigger name. Given by the caller (the CLI compiles the project), so this runtime
 * never loads the compiler.
 */
export type HandlerResolver = (trigger: string) => Promise<{ trigger: TriggerRef; handler: Handler }>;

export interface Host {
  readonly engine: Engine;
  readonly store: Store;
  readonly project: string;
  readonly triggers: readonly Trigger[];
  readonly resolve: HandlerResolver;
  /** Follows a session nobody waits on, so its failure is logged rather than lost. */
  background(running: Promise<Outcome>): void;
  log(line: string): void;
  /** Starts sessions within their trigger's max_concurrent, queuing the rest (admission.ts). */
  readonly admission: Admission;
}

export interface HostOptions {
  readonly engine: Engine;
  readonly store: Store;
  readonly project: string;
  readonly triggers: readonly Trigger[];
  readonly resolve: HandlerResolver;
  /** One line of news (a failed session, a schedule that could not start a session). */
  readonly log: (line: string) => void;
}

export function makeHost(options: HostOptions): Host {
  const { engine, store, project, triggers, resolve, log } = options;
  const background = (running: Promise<Outcome>) => void running.then((o) => report(log, o), (err) => log(`a session could not run: ${describeError(err)}`));
  const admission = new Admission({ engine, store, project, triggers, resolve, log, background });
  return { engine, store, project, triggers, resolve, log, background, admission };
}

function report(log: (line: string) => void, outcome: Outcome): void {
  if (outcome.status === "failed") log(`session ${outcome.sessionId} failed: ${outcome.error?.code ?? "AKTS6001"} ${outcome.error?.message ?? ""}`.trimEnd());
}

/** One line for a log: an akts error's code and message; anything else (a bug) with its stack. */
export function describeError(err: unknown): string {
  if (isAktsError(err)) return `${err.code} ${err.message}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

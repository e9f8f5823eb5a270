/** What the routes, the scheduler and the takeover loop share: the engine and store, the project's triggers and how to get a handler. */
import { isAktsError } from "../../errors";
import type { Engine, Handler, Outcome, TriggerRef } from "../engine";
import type { Trigger } from "../manifest";
import type { Store } from "../store/store";
import type { HeaderRecord } from "../journal";
import { Admission } from "./admission";

/**
 * A trigger's handler, by trigger name (or the `file:export` a session started by `start()` runs under it). Given by the caller (the CLI compiles the project), so this runtime
 * never loads the compiler.
 */
/** A trigger's handler; for a session being resumed, `recorded` is its journal header (the code it started on, and the `file:export` a session started by `start()` runs). */
export type HandlerResolver = (trigger: string, recorded?: HeaderRecord) => Promise<{ trigger: TriggerRef; handler: Handler }>;

export interface Host {
  readonly engine: Engine;
  readonly store: Store;
  readonly project: string;
  readonly triggers: readonly Trigger[];
  readonly resolve: HandlerResolver;
  /**
   * Follows a session nobody waits on. How it ends is the store's to tell (the CLI's session lines watch it); a
   * session that could not run at all is logged here.
   */
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
  /** One line of news (a session that could not run, a schedule that could not start a session). */
  readonly log: (line: string) => void;
}

export function makeHost(options: HostOptions): Host {
  const { engine, store, project, triggers, resolve, log } = options;
  const background = (running: Promise<Outcome>) => follow(log, running);
  const admission = new Admission({ engine, store, project, triggers, resolve, log, background });
  return { engine, store, project, triggers, resolve, log, background, admission };
}

/** Logs why a session could not run (its end, failed or not, is the store observer's to log). */
export function follow(log: (line: string) => void, running: Promise<unknown>): void {
  void running.catch((err: unknown) => log(`a session could not run: ${describeError(err)}`));
}

/** One line for a log: an akts error's code and message; anything else (a bug) with its stack. */
export function describeError(err: unknown): string {
  if (isAktsError(err)) return `${err.code} ${err.message}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

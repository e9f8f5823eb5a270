/** What the routes and the scheduler share: the engine and store, the project's triggers and how to get a handler. */
import type { Engine, Handler, Outcome, TriggerRef } from "../engine";
import type { Trigger } from "../manifest";
import type { Store } from "../store/store";

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
}

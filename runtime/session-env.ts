/** What the session API beyond activities (start, signals, values) reaches through a running session. */
import type { Store } from "./store/store";

export interface SessionEnv {
  readonly store: Store;
  readonly project: string;
  /**
   * Creates the session `childId` running `loc` with the caller's trigger and durability, unless it exists (a
   * creation repeated after a crash), and runs it as this runner runs children.
   */
  startChild(childId: string, loc: string, data: unknown, memo: Readonly<Record<string, string>> | undefined): Promise<void>;
  /** Ids of the events this session has journaled: a copy delivered again is never taken again. */
  readonly consumed: Set<string>;
}

/**
 * Bounds (docs/operations.md): a trigger with `max_concurrent` runs at most that many sessions at once across every
 * runner sharing the store. A session holds one of the trigger's slots, counted in the store (SessionSlots), from
 * its admission until it finishes, whichever runner runs it. A session beyond the bound is queued in the store (its
 * id and event), so it survives a crash, and starts in FIFO order as a slot frees: when a session of the trigger
 * ends here, and on each takeover tick of any runner of the project, so a queue left by a runner that was killed is
 * drained by the others. A queued start takes its slot, then becomes a session, then leaves the queue: a crash in
 * between leaves an entry whose start finds its slot (or the session) already there, so a start is never lost nor
 * made twice, and never runs beyond the bound.
 */
import type { OnEnd, Outcome } from "../engine";
import type { Trigger } from "../manifest";
import type { SessionOutcome } from "../outcome";
import type { Host } from "./host";

/** A sync caller of a session: told what a live `httpOutcome()`/`outcome()` sets, and how the session ends (OnEnd). */
export interface SyncCaller {
  readonly answer: (outcome: SessionOutcome) => void;
  readonly ending: OnEnd;
}

export type Admitted =
  | { readonly sessionId: string; readonly queued: true }
  | { readonly sessionId: string; readonly queued: false; readonly running: Promise<Outcome>; readonly durable: () => Promise<void> };

/** What admission needs of the host: all of it but admission itself. */
export type AdmissionHost = Omit<Host, "admission">;

export class Admission {
  /** One drain at a time per trigger in this runner (runners sharing the store are kept apart by the slots). */
  private readonly draining = new Map<string, Promise<void>>();

  constructor(private readonly host: AdmissionHost) {}

  /**
   * A new session of `trigger` with `sessionId`: started now, or queued when the trigger's slots are full. With
   * `deferSync` (a sync webhook's caller, told nothing before its answer) its creation's sync is left to its next.
   */
  admit(trigger: Trigger, event: unknown, sessionId: string, caller?: SyncCaller, deferSync = false): Promise<Admitted> {
    // A trigger without a bound starts its session at once, with no promise of admission's own.
    if (trigger.maxConcurrent === undefined) return this.startNow(trigger.name, event, sessionId, caller, deferSync);
    return this.admitBounded(trigger, trigger.maxConcurrent, event, sessionId, caller, deferSync);
  }

  private async admitBounded(trigger: Trigger, max: number, event: unknown, sessionId: string, caller?: SyncCaller, deferSync = false): Promise<Admitted> {
    const { store, project } = this.host;
    // Behind sessions already queued, even with a free slot: the queue is FIFO.
    if ((await store.queue.peek(project, trigger.name, 1)).length > 0 || !(await store.slots.take(project, trigger.name, sessionId, max))) {
      await store.queue.push({ sessionId, project, trigger: trigger.name, event });
      void this.drain(trigger);
      return { sessionId, queued: true };
    }
    return this.startNow(trigger.name, event, sessionId, caller, deferSync);
  }

  /** A session of `trigger` run here, started or resumed: when it ends, its slot may start a queued one. */
  track(trigger: string, running: Promise<Outcome>): Promise<Outcome> {
    const found = this.host.triggers.find((t) => t.name === trigger);
    // A trigger without a bound queues nothing; what it queued under an older bound, the takeover ticks drain.
    if (found?.maxConcurrent === undefined) return running;
    return running.finally(() => void this.drain(found));
  }

  /**
   * Starts queued sessions while slots are free, for every trigger of the project: one whose max_concurrent was
   * removed since its sessions were queued starts them all.
   */
  async drainAll(): Promise<void> {
    for (const trigger of this.host.triggers) await this.drain(trigger);
  }

  /** Once the session is in the store: its run (a promise in an object, so awaiting this does not await the run). */
  private async startNow(trigger: string, event: unknown, sessionId: string, caller?: SyncCaller, deferSync = false): Promise<Admitted & { queued: false }> {
    const { trigger: ref, handler } = await this.host.resolve(trigger);
    const created = await this.host.engine.create(ref, event, sessionId, undefined, { deferSync });
    return { sessionId, queued: false, running: this.track(trigger, created.run(handler, caller?.answer, caller?.ending)), durable: created.durable };
  }

  private drain(trigger: Trigger): Promise<void> {
    const previous = this.draining.get(trigger.name) ?? Promise.resolve();
    const next = previous.then(() => this.drainNow(trigger)).catch((err) => this.host.log(`queue of ${trigger.name}: ${(err as Error).message}`));
    this.draining.set(trigger.name, next);
    return next;
  }

  private async drainNow(trigger: Trigger): Promise<void> {
    const { store, project } = this.host;
    const max = trigger.maxConcurrent;
    for (;;) {
      const [next] = await store.queue.peek(project, trigger.name, 1);
      if (!next) return;
      // Made already, by a runner that died before removing the entry: only the entry is left to remove.
      if ((await store.get(next.sessionId)) === undefined) {
        if (max !== undefined && !(await store.slots.take(project, trigger.name, next.sessionId, max))) return;
        try {
          this.host.background((await this.startNow(trigger.name, next.event, next.sessionId)).running);
        } catch (err) {
          // Made meanwhile by a runner draining at the same time.
          if ((await store.get(next.sessionId)) === undefined) throw err;
        }
      }
      await store.queue.remove(next.sessionId);
    }
  }
}

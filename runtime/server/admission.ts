/**
 * Bounds (docs/operations.md): a trigger with `max_concurrent` runs at most that many sessions at once in this
 * runner; a session beyond it is queued in the store (its id and event), so it survives a crash, and starts in FIFO
 * order as a slot frees, here or in any runner of the project sharing the store (each takeover tick drains the
 * queues). A queued start becomes a session before it leaves the queue: a crash in between leaves a session that
 * takeover runs and a queue entry whose start finds it already made, so a start is never lost nor made twice.
 */
import type { Outcome } from "../engine";
import type { Trigger } from "../manifest";
import type { SessionOutcome } from "../outcome";
import type { Host } from "./host";

export type Admitted = { readonly sessionId: string; readonly queued: true } | { readonly sessionId: string; readonly queued: false; readonly running: Promise<Outcome> };

/** What admission needs of the host: all of it but admission itself. */
export type AdmissionHost = Omit<Host, "admission">;

export class Admission {
  /** Sessions of each trigger running in this process. */
  private readonly counts = new Map<string, number>();
  /** One drain at a time per trigger. */
  private readonly draining = new Map<string, Promise<void>>();

  constructor(private readonly host: AdmissionHost) {}

  /** A new session of `trigger` with `sessionId`: started now, or queued when the trigger's slots are full. */
  async admit(trigger: Trigger, event: unknown, sessionId: string, answer?: (outcome: SessionOutcome) => void): Promise<Admitted> {
    const max = trigger.maxConcurrent;
    // Behind sessions already queued, even with a free slot: the queue is FIFO.
    if (max !== undefined && (this.count(trigger.name) >= max || (await this.host.store.queue.peek(this.host.project, trigger.name, 1)).length > 0)) {
      await this.host.store.queue.push({ sessionId, project: this.host.project, trigger: trigger.name, event });
      void this.drain(trigger);
      return { sessionId, queued: true };
    }
    return { sessionId, queued: false, running: (await this.startNow(trigger.name, event, sessionId, answer)).running };
  }

  /** A session of `trigger` resumed here (takeover): it holds a slot until it ends. */
  track(trigger: string, running: Promise<Outcome>): Promise<Outcome> {
    this.counts.set(trigger, this.count(trigger) + 1);
    return running.finally(() => this.ended(trigger));
  }

  /** Starts queued sessions of every bounded trigger while slots are free. */
  async drainAll(): Promise<void> {
    for (const trigger of this.host.triggers) if (trigger.maxConcurrent !== undefined) await this.drain(trigger);
  }

  private count(trigger: string): number {
    return this.counts.get(trigger) ?? 0;
  }

  private ended(trigger: string): void {
    this.counts.set(trigger, this.count(trigger) - 1);
    const bounded = this.host.triggers.find((t) => t.name === trigger && t.maxConcurrent !== undefined);
    if (bounded) void this.drain(bounded);
  }

  /** Once the session is in the store: its run (a promise in an object, so awaiting this does not await the run). */
  private async startNow(trigger: string, event: unknown, sessionId: string, answer?: (outcome: SessionOutcome) => void): Promise<{ running: Promise<Outcome> }> {
    const { trigger: ref, handler } = await this.host.resolve(trigger);
    const created = await this.host.engine.create(ref, event, sessionId);
    return { running: this.track(trigger, created.run(handler, answer)) };
  }

  private drain(trigger: Trigger): Promise<void> {
    const previous = this.draining.get(trigger.name) ?? Promise.resolve();
    const next = previous.then(() => this.drainNow(trigger)).catch((err) => this.host.log(`queue of ${trigger.name}: ${(err as Error).message}`));
    this.draining.set(trigger.name, next);
    return next;
  }

  private async drainNow(trigger: Trigger): Promise<void> {
    const { store, project } = this.host;
    while (this.count(trigger.name) < trigger.maxConcurrent!) {
      const [next] = await store.queue.peek(project, trigger.name, 1);
      if (!next) return;
      try {
        this.host.background((await this.startNow(trigger.name, next.event, next.sessionId)).running);
      } catch (err) {
        // Made already: by a runner that died before removing the entry, or one draining at the same time.
        if ((await store.get(next.sessionId)) === undefined) throw err;
      }
      await store.queue.remove(next.sessionId);
    }
  }
}

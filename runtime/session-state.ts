/**
 * The state of one running session: its sequence counter and, in durable mode, the journal it replays from and
 * appends to. Replayed async outcomes are released in the journal's order (the order they completed in), so
 * concurrent activities resolve on replay as they did live.
 */
import type { JournalRecord } from "./journal";
import { NondeterminismError } from "./errors";
import { describeSite, type Site } from "./site";

export type ActivityRecord = Extract<JournalRecord, { t: "activity" }>;
export type TimerRecord = Extract<JournalRecord, { t: "timer" }>;
export type EventRecord = Extract<JournalRecord, { t: "event" }>;
type SeqRecord = ActivityRecord | TimerRecord | EventRecord;

/** Where a durable session writes: implemented by a store's session lease. */
export interface JournalSink {
  append(record: JournalRecord): Promise<void>;
  appendSync(record: JournalRecord): void;
}

/** Events delivered to a session, waiting to be taken by `nextEvent`. */
export interface Inbox {
  /** The first undelivered event named `name`; undefined when `deadline` (epoch ms) passes first. */
  take(name: string, deadline: number | undefined): Promise<{ id: string; value: unknown } | undefined>;
  /** Called once the event is journaled: it may be removed from the inbox. */
  consumed(id: string): Promise<void>;
}

export interface SessionInfo {
  readonly id: string;
  readonly attempt: number;
  readonly durable: boolean;
}

export class SessionState implements SessionInfo {
  private seq = 0;
  private readonly recorded = new Map<number, SeqRecord>();
  /** Seqs of recorded async activity outcomes, in journal (completion) order. */
  private readonly order: number[] = [];
  private released = 0;
  private readonly ready = new Map<number, () => void>();
  /** Sites whose dropped parts were already reported (once per site). */
  readonly reportedDrops = new Set<string>();
  /** Ids of events already consumed by this session (from its journal). */
  readonly consumedEvents = new Set<string>();

  constructor(
    readonly id: string,
    readonly attempt: number,
    readonly durable: boolean,
    readonly sink: JournalSink | undefined,
    history: readonly JournalRecord[] = [],
    readonly inbox: Inbox,
    /** Told when the session starts or stops waiting on a timer or an event (status `waiting`). */
    private readonly onWaiting: (waiting: boolean) => void = () => {},
  ) {
    for (const rec of history) {
      if (rec.t !== "activity" && rec.t !== "timer" && rec.t !== "event") continue;
      this.recorded.set(rec.seq, rec);
      if (rec.t === "activity" && rec.async) this.order.push(rec.seq);
      if (rec.t === "event" && rec.id !== undefined) this.consumedEvents.add(rec.id);
    }
  }

  private waiters = 0;

  /** Runs `wait` with the session marked as waiting while it is pending. */
  async waiting<T>(wait: () => Promise<T>): Promise<T> {
    if (this.waiters++ === 0) this.onWaiting(true);
    try {
      return await wait();
    } finally {
      if (--this.waiters === 0) this.onWaiting(false);
    }
  }

  /** Live async activities not yet journaled: the session ends only after they are. */
  readonly inflight = new Set<Promise<unknown>>();

  /** Waits until every live activity started so far is journaled (or failed to be). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** True while some recorded outcome has not been handed back yet. */
  get replaying(): boolean {
    return this.seq < this.recorded.size || this.released < this.order.length;
  }

  /** The recorded entry for `seq`, checked against what the code called now. */
  recordedFor<T extends SeqRecord["t"]>(seq: number, t: T, site: Pick<Site, "id" | "callee">): Extract<SeqRecord, { t: T }> | undefined {
    const rec = this.recorded.get(seq);
    if (rec === undefined) return undefined;
    const recordedSite = describeRecord(rec);
    const called = t === "event" ? site.callee : t === "timer" ? site.id : describeSite(site);
    const same = rec.t === t && called === recordedSite;
    if (!same) {
      throw new NondeterminismError(`entry #${seq}: journal has ${recordedSite}, code called ${called}`);
    }
    return rec as Extract<SeqRecord, { t: T }>;
  }

  /** Resolves when every async outcome recorded before `seq`'s has been handed back. */
  releaseInOrder(seq: number): Promise<void> {
    return new Promise((resolve) => {
      this.ready.set(seq, resolve);
      this.pump();
    });
  }

  private pump(): void {
    const seq = this.order[this.released];
    const resolve = seq === undefined ? undefined : this.ready.get(seq);
    if (resolve === undefined) return;
    this.ready.delete(seq);
    this.released++;
    resolve();
    // Let the continuation of this outcome run (and start what it starts) before the next one resolves.
    if (this.ready.size > 0) setImmediate(() => this.pump());
  }

  /** After the handler returned: recorded entries the code never asked for mean the code changed. */
  assertFullyReplayed(): void {
    for (const [seq, rec] of this.recorded) {
      if (seq > this.seq) {
        throw new NondeterminismError(`entry #${seq}: journal has ${describeRecord(rec)}, code returned without calling it`);
      }
    }
  }
}

function describeRecord(rec: SeqRecord): string {
  switch (rec.t) {
    case "event":
      return `nextEvent("${rec.name}")`;
    case "timer":
      return rec.site;
    case "activity":
      return describeSite({ callee: rec.callee, id: rec.site });
  }
}

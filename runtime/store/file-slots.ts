/**
 * The file store's `max_concurrent` slots (SessionSlots): `slots/<project>/<trigger>/<n>.<generation>`, each file
 * naming the session that holds slot n. Each slot's generations are a FenceChain (fence-chain.ts): of runners racing
 * for one slot exactly one wins, with no lock to be left behind by a runner that dies. A slot is free when its
 * newest generation's session finished (or was never made within the lease TTL).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UNFINISHED, type SessionSlots, type SessionSummary } from "./store";
import { FenceChain } from "./fence-chain";

interface SlotRecord {
  readonly sessionId: string;
  /** Epoch ms it was taken. */
  readonly at: number;
}

interface Slot {
  readonly n: number;
  readonly generation: number;
  readonly record: SlotRecord | undefined;
}

const SLOT_FILE = /^(\d+)\.\d+$/;


export class FileSlots implements SessionSlots {
  private readonly dir: string;

  constructor(
    location: string,
    private readonly tmpDir: string,
    private readonly session: (id: string) => Promise<SessionSummary | undefined>,
    private readonly ttlMs: number,
  ) {
    // Made by the first bounded start, so a store without bounds keeps its layout.
    this.dir = path.join(location, "slots");
  }

  async take(project: string, trigger: string, sessionId: string, max: number): Promise<boolean> {
    const folder = path.join(this.dir, encodeURIComponent(project), encodeURIComponent(trigger));
    await fs.promises.mkdir(folder, { recursive: true, mode: 0o700 });
    const slots = await this.newest(folder);
    if (slots.some((s) => s.record?.sessionId === sessionId)) return true;
    const free: Slot[] = [];
    let held = 0;
    for (const slot of slots) {
      if (await this.isFree(slot)) free.push(slot);
      else held++;
    }
    if (held >= max) return false;
    const taken = new Set(slots.map((s) => s.n));
    for (let n = 0; n < max; n++) if (!taken.has(n)) free.push({ n, generation: 0, record: undefined });
    const record = JSON.stringify({ sessionId, at: Date.now() } satisfies SlotRecord);
    for (const slot of free.filter((s) => s.n < max).sort((a, b) => a.n - b.n)) {
      if (await this.chain(folder, slot.n).take(slot.generation + 1, record)) return true;
    }
    return false;
  }

  private chain(folder: string, n: number): FenceChain {
    return new FenceChain(folder, `${n}.`, this.tmpDir);
  }

  /** Each slot's newest generation, with the record it holds (undefined: removed since). */
  private async newest(folder: string): Promise<Slot[]> {
    const listing = await fs.promises.readdir(folder);
    const numbers = new Set<number>();
    for (const name of listing) {
      const m = SLOT_FILE.exec(name);
      if (m) numbers.add(Number(m[1]));
    }
    const slots: Slot[] = [];
    for (const n of numbers) {
      const chain = this.chain(folder, n);
      const generation = await chain.newest(listing);
      let record: SlotRecord | undefined;
      try {
        record = JSON.parse(await fs.promises.readFile(chain.file(generation), "utf8")) as SlotRecord;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      slots.push({ n, generation, record });
    }
    return slots;
  }

  private async isFree(slot: Slot): Promise<boolean> {
    // Gone since the listing: a newer generation was taken, which the next link finds.
    if (!slot.record) return true;
    const summary = await this.session(slot.record.sessionId);
    if (summary) return !UNFINISHED.includes(summary.status);
    return Date.now() - slot.record.at > this.ttlMs;
  }
}

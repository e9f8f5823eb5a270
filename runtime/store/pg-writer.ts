/**
 * Journal appends of the PostgreSQL store, done by a thread of their own (pg-writer-thread.ts). A sync activity's
 * outcome must be stored before the activity returns, and the engine's event loop cannot wait for a network reply
 * inside a synchronous call: `appendSync` posts the frame to the thread and blocks in Atomics.wait until the thread
 * has the server's answer, as the file store blocks in fdatasync. Async appends go through the same thread, so the
 * frames of a session reach the server in the order they were appended whichever way they came.
 */
import * as path from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { RetryPolicy } from "./pg-retry";

export interface WriterData {
  readonly url: string;
  /** One Int32: the thread sets it to 1 when a sync reply is on `syncPort`. */
  readonly flag: SharedArrayBuffer;
  readonly poolSize: number;
  /** How the thread waits out an outage (pg-retry.ts). */
  readonly retry: RetryPolicy;
  /** fsync `batch`: appends commit without waiting for the server's WAL flush (docs/stores.md). */
  readonly asyncCommit: boolean;
}

export interface AppendRequest {
  readonly call: number;
  readonly session: string;
  readonly fence: number;
  readonly frame: Uint8Array;
  /** The index the frame must get (the journal's end as its lease knows it), or -1: wherever the end is. */
  readonly idx: number;
  readonly sync: boolean;
}

/**
 * `stale`: the session's current fence, -1 when it is gone (no frame was written). `lost`: the journal ends before
 * the frame's index, so frames the server acknowledged are gone (a server crash under fsync `batch`). Else why the
 * write failed.
 */
export interface AppendFailure {
  readonly ok: false;
  readonly stale?: number;
  readonly lost?: number;
  readonly message: string;
  readonly code?: string;
}

/** `idx`: the index the frame got. */
export type AppendReply = { readonly call: number } & ({ readonly ok: true; readonly idx: number } | AppendFailure);

/** The index the frame got, else why it was not stored. */
export type AppendOutcome = { readonly ok: true; readonly idx: number } | AppendFailure;

/** How long appendSync waits for the server before it gives up (the append may still land: a restart replays it). */
const SYNC_TIMEOUT_MS = 60_000;

export class PgWriter {
  private readonly worker: Worker;
  private readonly signal: Int32Array;
  private readonly syncPort: MessagePort;
  private readonly waiting = new Map<number, (outcome: AppendOutcome) => void>();
  private calls = 0;
  private failure: string | undefined;

  constructor(url: string, poolSize: number, retry: RetryPolicy, asyncCommit: boolean) {
    const flag = new SharedArrayBuffer(4);
    this.signal = new Int32Array(flag);
    const { port1, port2 } = new MessageChannel();
    this.syncPort = port1;
    this.worker = new Worker(path.join(__dirname, "pg-writer-thread.js"), {
      workerData: { url, flag, poolSize, retry, asyncCommit, syncPort: port2 } satisfies WriterData & { syncPort: MessagePort },
      transferList: [port2],
    });
    this.worker.on("message", (reply: AppendReply) => {
      const settle = this.waiting.get(reply.call);
      this.waiting.delete(reply.call);
      settle?.(reply);
    });
    this.worker.on("error", (err) => this.fail(`the journal writer thread failed: ${err.message}`));
    this.worker.on("exit", () => this.fail("the journal writer thread stopped"));
    // Only pending appends keep the process alive, not the idle thread.
    this.worker.unref();
  }

  private fail(message: string): void {
    this.failure ??= message;
    for (const settle of this.waiting.values()) settle({ ok: false, message });
    this.waiting.clear();
  }

  /** Resolves once stored, with the frame's index, else with why not. */
  append(session: string, fence: number, frame: Buffer, idx: number): Promise<AppendOutcome> {
    if (this.failure) return Promise.resolve({ ok: false, message: this.failure });
    const call = ++this.calls;
    return new Promise((resolve) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(call, (outcome) => {
        if (this.waiting.size === 0) this.worker.unref();
        resolve(outcome);
      });
      this.post(call, session, fence, frame, idx, false);
    });
  }

  /** Blocks until the server has stored the frame or refused it. */
  appendSync(session: string, fence: number, frame: Buffer, idx: number): AppendOutcome {
    if (this.failure) return { ok: false, message: this.failure };
    const call = ++this.calls;
    Atomics.store(this.signal, 0, 0);
    this.post(call, session, fence, frame, idx, true);
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, message: `no answer from the server within ${SYNC_TIMEOUT_MS / 1000} s` };
      Atomics.wait(this.signal, 0, 0, left);
      Atomics.store(this.signal, 0, 0);
      // Replies to earlier calls that timed out are dropped here.
      for (let got = receiveMessageOnPort(this.syncPort); got; got = receiveMessageOnPort(this.syncPort)) {
        const reply = got.message as AppendReply;
        if (reply.call === call) return reply;
      }
      if (this.failure) return { ok: false, message: this.failure };
    }
  }

  /** A copy into its own buffer: a frame may be a view of the encoder's arena, which must not be cloned whole. */
  private post(call: number, session: string, fence: number, frame: Buffer, idx: number, sync: boolean): void {
    const own = new Uint8Array(frame);
    this.worker.postMessage({ call, session, fence, frame: own, idx, sync } satisfies AppendRequest, [own.buffer]);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

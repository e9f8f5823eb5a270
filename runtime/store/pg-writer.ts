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
}

export interface AppendRequest {
  readonly call: number;
  readonly session: string;
  readonly fence: number;
  readonly frame: Uint8Array;
  readonly sync: boolean;
}

/** `stale`: the session's current fence, -1 when it is gone (no frame was written); else why the write failed. */
export interface AppendFailure {
  readonly ok: false;
  readonly stale?: number;
  readonly message: string;
  readonly code?: string;
}

export type AppendReply = { readonly call: number } & ({ readonly ok: true } | AppendFailure);

/** Undefined: stored. */
export type AppendOutcome = AppendFailure | undefined;

/** How long appendSync waits for the server before it gives up (the append may still land: a restart replays it). */
const SYNC_TIMEOUT_MS = 60_000;

export class PgWriter {
  private readonly worker: Worker;
  private readonly signal: Int32Array;
  private readonly syncPort: MessagePort;
  private readonly waiting = new Map<number, (outcome: AppendOutcome) => void>();
  private calls = 0;
  private failure: string | undefined;

  constructor(url: string, poolSize: number, retry: RetryPolicy) {
    const flag = new SharedArrayBuffer(4);
    this.signal = new Int32Array(flag);
    const { port1, port2 } = new MessageChannel();
    this.syncPort = port1;
    this.worker = new Worker(path.join(__dirname, "pg-writer-thread.js"), {
      workerData: { url, flag, poolSize, retry, syncPort: port2 } satisfies WriterData & { syncPort: MessagePort },
      transferList: [port2],
    });
    this.worker.on("message", (reply: AppendReply) => {
      const settle = this.waiting.get(reply.call);
      this.waiting.delete(reply.call);
      settle?.(reply.ok ? undefined : reply);
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

  /** Resolves with undefined once stored, else with why not. */
  append(session: string, fence: number, frame: Buffer): Promise<AppendOutcome> {
    if (this.failure) return Promise.resolve({ ok: false, message: this.failure });
    const call = ++this.calls;
    return new Promise((resolve) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(call, (outcome) => {
        if (this.waiting.size === 0) this.worker.unref();
        resolve(outcome);
      });
      this.post(call, session, fence, frame, false);
    });
  }

  /** Blocks until the server has stored the frame (undefined) or refused it. */
  appendSync(session: string, fence: number, frame: Buffer): AppendOutcome {
    if (this.failure) return { ok: false, message: this.failure };
    const call = ++this.calls;
    Atomics.store(this.signal, 0, 0);
    this.post(call, session, fence, frame, true);
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, message: `no answer from the server within ${SYNC_TIMEOUT_MS / 1000} s` };
      Atomics.wait(this.signal, 0, 0, left);
      Atomics.store(this.signal, 0, 0);
      // Replies to earlier calls that timed out are dropped here.
      for (let got = receiveMessageOnPort(this.syncPort); got; got = receiveMessageOnPort(this.syncPort)) {
        const reply = got.message as AppendReply;
        if (reply.call === call) return reply.ok ? undefined : reply;
      }
      if (this.failure) return { ok: false, message: this.failure };
    }
  }

  /** A copy into its own buffer: a frame may be a view of the encoder's arena, which must not be cloned whole. */
  private post(call: number, session: string, fence: number, frame: Buffer, sync: boolean): void {
    const own = new Uint8Array(frame);
    this.worker.postMessage({ call, session, fence, frame: own, sync } satisfies AppendRequest, [own.buffer]);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Journal appends of the PostgreSQL store (pg-append.ts groups and writes them). Async appends are sent from the
 * event loop: a hand-off to a thread and back cost a step about as much as the statement itself. A sync
 * activity's outcome must be stored before the activity returns, and the event loop cannot wait for a network reply
 * inside a synchronous call: `appendSync` posts the frame to a thread of its own (pg-writer-thread.ts, started by the
 * first one) and blocks in Atomics.wait until the thread has the server's answer, as the file store blocks in
 * fdatasync. A session's frames still reach the journal in the order they were appended: its async appends not sent
 * yet go to the thread ahead of the sync one, and if one is under way on the event loop's connection, the thread
 * waits for it to land before writing after it.
 */
import * as path from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { Pool } from "pg";
import { Appender } from "./pg-append";
import type { RetryPolicy } from "./pg-retry";

export interface WriterData {
  readonly url: string;
  /** One Int32: the thread sets it to 1 when a sync reply is on `syncPort`. */
  readonly flag: SharedArrayBuffer;
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
  /** The index the frame must get: the journal's end as its lease knows it. */
  readonly idx: number;
  readonly sync: boolean;
  /**
   * Frames before this one are under way on another connection: until this time (ms since the epoch), a journal
   * that ends short of `idx` means they have not landed yet, not that they were lost.
   */
  readonly waitUntil?: number;
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

/**
 * The connections of an Appender with `inFlight` statements at once, and one more for its retries and lookups; under
 * fsync batch appends commit before the server's WAL flush (docs/stores.md).
 */
export function appendPool(url: string, inFlight: number, asyncCommit: boolean): Pool {
  const pool = new Pool({ connectionString: url, max: inFlight + 1, connectionTimeoutMillis: 10_000, allowExitOnIdle: true, ...(asyncCommit && { options: "-c synchronous_commit=off" }) });
  // An idle connection dropped by the server is replaced by the next query; the error itself needs no handling.
  pool.on("error", () => {});
  return pool;
}

/** The thread of sync appends, and what it has not answered yet. */
interface Thread {
  readonly worker: Worker;
  readonly signal: Int32Array;
  readonly syncPort: MessagePort;
  failure?: string;
}

export class PgWriter {
  private readonly pool: Pool;
  private readonly appender: Appender;
  private thread: Thread | undefined;
  private readonly waiting = new Map<number, (outcome: AppendOutcome) => void>();
  /** Async appends handed to the thread (appendSync sent them ahead of its own), not answered yet. */
  private readonly atThread = new Set<number>();
  private calls = 0;

  constructor(
    private readonly url: string,
    poolSize: number,
    private readonly retry: RetryPolicy,
    private readonly asyncCommit: boolean,
  ) {
    const inFlight = asyncCommit ? 1 : poolSize;
    this.pool = appendPool(url, inFlight, asyncCommit);
    this.appender = new Appender(this.pool, retry, inFlight, (request, outcome) => this.settle(request.call, outcome));
  }

  private settle(call: number, outcome: AppendOutcome): void {
    const settle = this.waiting.get(call);
    this.waiting.delete(call);
    settle?.(outcome);
  }

  private start(): Thread {
    const flag = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(path.join(__dirname, "pg-writer-thread.js"), {
      workerData: { url: this.url, flag, retry: this.retry, asyncCommit: this.asyncCommit, syncPort: port2 } satisfies WriterData & { syncPort: MessagePort },
      transferList: [port2],
    });
    const thread: Thread = { worker, signal: new Int32Array(flag), syncPort: port1 };
    worker.on("message", (reply: AppendReply) => {
      this.atThread.delete(reply.call);
      if (this.atThread.size === 0) worker.unref();
      this.settle(reply.call, reply);
    });
    const fail = (message: string) => {
      thread.failure ??= message;
      for (const call of this.atThread) this.settle(call, { ok: false, message });
      this.atThread.clear();
    };
    worker.on("error", (err) => fail(`the journal writer thread failed: ${err.message}`));
    worker.on("exit", () => fail("the journal writer thread stopped"));
    // Only appends it has not answered keep the process alive, not the idle thread.
    worker.unref();
    return thread;
  }

  /** Tells `done` once stored, with the frame's index, else why not. */
  appendThen(session: string, fence: number, frame: Buffer, idx: number, done: (outcome: AppendOutcome) => void): void {
    const call = ++this.calls;
    this.waiting.set(call, done);
    // A copy: a frame may be a view of the encoder's arena, which the next encode overwrites.
    this.appender.push([{ call, session, fence, frame: new Uint8Array(frame), idx, sync: false }]);
  }

  /** Blocks until the server has stored the frame or refused it. */
  appendSync(session: string, fence: number, frame: Buffer, idx: number): AppendOutcome {
    const thread = (this.thread ??= this.start());
    if (thread.failure) return { ok: false, message: thread.failure };
    const call = ++this.calls;
    // The session's async appends not sent yet go first; one under way makes the thread wait for it to land.
    const waitUntil = this.appender.sending(session) ? Date.now() + this.retry.budgetMs : undefined;
    const before = this.appender.take(session).map((request) => ({ ...request, waitUntil }));
    for (const request of before) this.atThread.add(request.call);
    if (before.length > 0) thread.worker.ref();
    Atomics.store(thread.signal, 0, 0);
    const requests: AppendRequest[] = [...before, { call, session, fence, frame: new Uint8Array(frame), idx, sync: true, waitUntil }];
    // Transferred: the copies are the thread's from here on.
    thread.worker.postMessage(requests, requests.map((r) => r.frame.buffer as ArrayBuffer));
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, message: `no answer from the server within ${SYNC_TIMEOUT_MS / 1000} s` };
      Atomics.wait(thread.signal, 0, 0, left);
      Atomics.store(thread.signal, 0, 0);
      // Replies to earlier calls that timed out are dropped here.
      for (let got = receiveMessageOnPort(thread.syncPort); got; got = receiveMessageOnPort(thread.syncPort)) {
        const reply = got.message as AppendReply;
        if (reply.call === call) return reply;
      }
      if (thread.failure) return { ok: false, message: thread.failure };
    }
  }

  async close(): Promise<void> {
    await this.thread?.worker.terminate();
    this.appender.close();
    await this.pool.end();
  }
}

/**
 * The body of the PostgreSQL store's thread of sync appends (pg-writer.ts starts it): it writes what appendSync
 * posts (pg-append.ts) and answers a sync append through `syncPort` and the shared flag the blocked event loop
 * waits on; async appends posted ahead of it are answered as messages.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { Appender } from "./pg-append";
import { appendPool, type AppendReply, type AppendRequest, type WriterData } from "./pg-writer";

const { url, flag, syncPort, retry, asyncCommit } = workerData as WriterData & { syncPort: MessagePort };
const signal = new Int32Array(flag);
// The event loop is blocked while a sync append is under way: one statement at a time is all it can ask for.
const appender = new Appender(appendPool(url, 1, asyncCommit), retry, 1, (request, outcome) => reply({ call: request.call, ...outcome }, request.sync));

parentPort!.on("message", (requests: AppendRequest[]) => appender.push(requests));

function reply(message: AppendReply, sync: boolean): void {
  if (!sync) return parentPort!.postMessage(message);
  syncPort.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

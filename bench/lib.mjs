/** Shared by the benchmarks: timing, medians, temp folders and the runtime built in dist/. */
import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.dirname(BENCH);
/** Generated projects and scratch stores: gitignored, on the same file system as the repo. */
export const WORK = path.join(BENCH, ".work");

const require = createRequire(import.meta.url);
export const dist = (module) => require(path.join(ROOT, "dist", module));

/**
 * `--only 5,6` (rows to run), `--quick` (fewer repetitions) and `--peers` (e2e-pg against DBOS, and akts beside
 * Restate and DBOS: bench/peers.mjs); a full run is neither of the first two.
 */
export function options(argv) {
  const at = argv.indexOf("--only");
  const rows = at >= 0 ? new Set(argv[at + 1].split(",").map((r) => r.trim())) : undefined;
  return { only: (row) => !rows || rows.has(row), quick: argv.includes("--quick"), peers: argv.includes("--peers"), full: !rows && !argv.includes("--quick") };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds since an arbitrary origin, sub-microsecond resolution. */
export const now = () => performance.now();

/** Runs `fn` and returns how long it took in ms (awaits it when it returns a promise). */
export async function time(fn) {
  const start = now();
  await fn();
  return now() - start;
}

/** A turn of the event loop: the work the runtime left for it (freeing buffers, finishing a collection) is done. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs each subject once per round, in alternating order so drift on a noisy machine hits them alike, and
 * returns the median time of each (ms) with all the samples, and the median CPU time of the process over each
 * sample (`cpuMedian`, ms: every thread, so the collector's helpers too; what an in-process row reports beside its
 * figure, since on a shared machine the wall clock also counts the time other processes held the cores). `before` (untimed) runs before each round. Each
 * sample starts after a turn of the event loop, as work in a real process does: back to back without one, a
 * synchronous subject that allocates large buffers (a replay reads its journal whole) left the next sample the
 * collection of them, which made a replay that followed a replay about 15 ms slower than one that followed the
 * decoding baseline (docs/performance.md, row 8).
 */
export async function interleaved(rounds, subjects, { before } = {}) {
  const samples = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
  const cpu = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
  const names = Object.keys(subjects);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...names].reverse() : names;
    if (before) await before();
    for (const name of order) {
      await settle();
      const used = process.cpuUsage();
      samples[name].push(await time(subjects[name]));
      const { user, system } = process.cpuUsage(used);
      cpu[name].push((user + system) / 1000);
    }
  }
  return Object.fromEntries(names.map((k) => [k, { median: median(samples[k]), samples: samples[k], cpuMedian: median(cpu[k]) }]));
}

/**
 * A file of `bytes` zeros, flushed, open for writing: the preallocated space of the fdatasync floors. Filled 16 KiB at
 * a time, as the file store fills its segments (segment-writer.ts, FILL_CHUNK): a file filled by one large write sits
 * in large page-cache folios, where a small write + fdatasync costs more: such a floor would flatter akts.
 */
export function zeroFilled(file, bytes) {
  const fd = fs.openSync(file, "w");
  const chunk = Buffer.alloc(16 << 10);
  for (let at = 0; at < bytes; ) at += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - at), at);
  fs.fsyncSync(fd);
  return fd;
}

export function scratch(prefix) {
  fs.mkdirSync(WORK, { recursive: true });
  return fs.mkdtempSync(path.join(WORK, `${prefix}-`));
}

export function remove(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function machine() {
  const cpus = os.cpus();
  return { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: cpus.length, cpu: cpus[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), date: new Date().toISOString() };
}

/** A JSON-like value of about `bytes` bytes as JSON: what an API call typically returns. */
export function jsonLikeResult(bytes = 1024) {
  const items = [];
  const result = { ok: true, channel: "C024BE91L", ts: "1712345678.000200", items };
  for (let i = 0; JSON.stringify(result).length < bytes; i++) {
    items.push({ id: 1000 + i, name: `user-${i}`, email: `user${i}@example.com`, active: i % 3 !== 0, score: i * 1.5 });
  }
  if (JSON.stringify(result).length > bytes) items.pop();
  result.note = "x".repeat(bytes - JSON.stringify(result).length - ',"note":""'.length);
  return result;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

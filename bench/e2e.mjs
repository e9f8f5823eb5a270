/**
 * End-to-end rows (docs/performance.md): a 10-step handler (`step` from a package, so 10 activities) behind a sync
 * webhook of `akts serve`, against floors measured in the same run: a bare node:http server doing the same JSON
 * work, and a preallocated pwrite + fdatasync (12 in a row per round, as a session makes them). Requests go one
 * after another from one client (p50), alternating between the floors and akts so that drift on a noisy machine
 * hits all of them; e2e-batch runs 64 clients at once, its servers taking turns in windows (`throughput`).
 *
 *   e2e-always      durable, fsync always: p50 <= 1.3 x (floor p50 + 12 x pwrite+fdatasync p50)
 *   e2e-nondurable  non-durable:           p50 <= 1.3 x floor p50
 *   e2e-batch       durable, fsync batch, 64 clients: sessions/s >= 0.5 x the floor's requests/s, and more than
 *                   fsync always at the same concurrency (none and non-durable: >= 0.7 x)
 *   store-size      a session's p50 with 100,000 finished sessions in the store <= 1.2 x in an empty store
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { median, now, remove, ROOT, scratch, zeroFilled } from "./lib.mjs";

export const CLI = path.join(ROOT, "bin", "akts.js");
const BODY = JSON.stringify({ n: 0, note: "bench" });

const PROGRAM = `import { step } from "stepper";

export async function handler(event: { data: { body: { json: { n: number } } } }) {
  let o = { n: event.data.body.json.n };
  for (let k = 0; k < 10; k++) o = await step(o);
  return o;
}
`;

const MANIFEST = `version: v1
project:
  name: e2e
  triggers:
    - name: durable
      type: webhook
      is_sync: true
      call: program.ts:handler
    - name: nondurable
      type: webhook
      is_sync: true
      is_durable: false
      call: program.ts:handler
`;

export const FLOOR = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const event = { method: req.method, path: req.url, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
    let o = { n: event.body.n };
    for (let k = 0; k < 10; k++) o = { n: o.n + 1 };
    const body = JSON.stringify(o);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write("akts serve: listening on http://127.0.0.1:" + server.address().port + "\\n"));
`;

/** The bench project: the handler, its manifest, and `stepper`, a package whose `step` is an activity. */
export function project() {
  const dir = scratch("e2e");
  fs.writeFileSync(path.join(dir, "program.ts"), PROGRAM);
  fs.writeFileSync(path.join(dir, "autokitteh.yaml"), MANIFEST);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "e2e-bench", private: true, type: "module" }));
  const compilerOptions = { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, types: [], plugins: [{ transform: "akts/plugin" }] };
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["*.ts"] }));
  const modules = path.join(dir, "node_modules");
  fs.mkdirSync(path.join(modules, "stepper"), { recursive: true });
  fs.symlinkSync(ROOT, path.join(modules, "akts"));
  fs.writeFileSync(path.join(modules, "stepper", "package.json"), JSON.stringify({ name: "stepper", version: "1.0.0", main: "index.js", types: "index.d.ts" }));
  fs.writeFileSync(path.join(modules, "stepper", "index.js"), "exports.step = async (o) => ({ n: o.n + 1 });\n");
  fs.writeFileSync(path.join(modules, "stepper", "index.d.ts"), "export declare function step(o: { n: number }): Promise<{ n: number }>;\n");
  return dir;
}

/** Starts a server process (`akts serve`, or the floor) and resolves with its URL once it listens. */
export function start(args, env = {}) {
  // Its log goes to a pipe that is read and dropped, as a log collector reads a service's: a session's log lines
  // cost the server their writes, and the bench's output is not flooded with them. The tail is kept for errors.
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let tail = "";
  child.stderr.on("data", (d) => (tail = (tail + d).slice(-4000)));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)\n/.exec(out);
      if (m) resolve({ url: m[1], stop: () => child.kill("SIGKILL") });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code} before listening: ${out}${tail}`)));
  });
}

async function request(url) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: BODY });
  const got = await res.json();
  if (res.status !== 200 || got.n !== 10) throw new Error(`${url} answered ${res.status} ${JSON.stringify(got)}`);
}

/** Rounds before the measured ones; the first 20 of them are left out of the cold figures. */
export const warmRounds = (quick) => (quick ? 200 : 1000);

/**
 * p50 of each subject, taken one after another in rounds after a warm-up: a URL (a request to it) or a function
 * (a floor measured in the client itself), so that drift on a noisy machine hits every subject alike. The warm-up
 * is long because the rows measure a server that has been running, as rows 3, 5 and 8 do: over its first few hundred
 * requests V8 is still compiling and optimizing the server's code (akts's far more than the floor's) and the
 * client's. `.cold` holds each subject's p50 over the `count` rounds after the first 20, as the rows were measured
 * before (docs/performance.md), printed beside them.
 */
export async function sequential(subjects, count, warm) {
  const run = subjects.map((s) => (typeof s === "function" ? s : () => request(s)));
  const samples = subjects.map(() => []);
  for (let i = 0; i < warm + count; i++) {
    for (const [k, f] of run.entries()) {
      const t = now();
      await f();
      samples[k].push(now() - t);
    }
  }
  return Object.assign(
    samples.map((s) => median(s.slice(-count))),
    { cold: samples.map((s) => median(s.slice(20, 20 + count))) },
  );
}

/** Windows each URL of `throughput` is measured in, taking turns. */
const WINDOWS = 5;

/**
 * Requests per second of each URL, with `clients` clients sending one after another, for `ms` in all per URL. Each
 * URL is first warmed for a fifth of that at the same concurrency (the floor server has served the sequential rows
 * by then, akts's servers for these rows are new processes whose code V8 has yet to optimize: sequential, above).
 * Then the URLs take turns in WINDOWS rounds of `ms / WINDOWS` each, and each URL's requests and time are summed
 * over its windows: measured one after another, a drift of the machine's load over the run (another process, the
 * disk's writeback) hit the URLs unequally and could reverse two close ones, as `sequential` alternates requests for
 * the same reason.
 */
export async function throughput(urls, clients, ms) {
  const clientsFor = async (url, span) => {
    let done = 0;
    const started = now();
    const until = started + span;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (now() < until) {
        await request(url);
        done++;
      }
    }));
    return { done, elapsed: now() - started };
  };
  for (const url of urls) await clientsFor(url, ms / 5);
  const totals = urls.map(() => ({ done: 0, elapsed: 0 }));
  for (let w = 0; w < WINDOWS; w++) {
    for (const [k, url] of urls.entries()) {
      const { done, elapsed } = await clientsFor(url, ms / WINDOWS);
      totals[k].done += done;
      totals[k].elapsed += elapsed;
    }
  }
  return totals.map((t) => (t.done * 1000) / t.elapsed);
}

/**
 * The fdatasync floor, taken between the requests of `sequential` so that the disk's state is the servers': each
 * call makes 12 preallocated pwrites of a small frame, each followed by its fdatasync, one after another as a
 * session's 12 synced writes are (into a 1 MiB file made on the first call), and keeps each one's time.
 */
function syncProbe(dir) {
  const frame = Buffer.alloc(120, 7);
  let fd;
  let i = 0;
  const probe = () => {
    fd ??= zeroFilled(path.join(dir, "floor.bin"), 1 << 20);
    for (let k = 0; k < 12; k++) {
      const t = now();
      fs.writeSync(fd, frame, 0, frame.length, (i++ * frame.length) % (1 << 20));
      fs.fdatasyncSync(fd);
      probe.samples.push(now() - t);
    }
  };
  probe.samples = [];
  probe.close = () => fd !== undefined && fs.closeSync(fd);
  return probe;
}

/**
 * A store of `count` finished sessions, each a copy of one finished session of `template` (a store a server wrote)
 * under a new id, written through the store's own API by one runner (fsync none: the fill is not what is measured).
 */
async function fillStore(store, count, template) {
  const { FileStore } = await import(path.join(ROOT, "dist/runtime/store/file-store.js"));
  const { newSessionId } = await import(path.join(ROOT, "dist/runtime/store/store.js"));
  const source = new FileStore(template, "none", { readOnly: true });
  const [done] = await source.list({ status: "completed", limit: 1 });
  const { records } = await source.read(done.id);
  const target = new FileStore(store, "none");
  const one = async () => {
    const id = newSessionId(Date.now() - 86_400_000);
    const [header, attempt, ...rest] = records;
    const lease = await target.create({ ...header, sessionId: id }, "fill", attempt);
    for (const record of rest) await lease.append(record);
    await lease.setStatus("completed", { attempts: 1, result: done.result });
    await lease.release();
  };
  for (let i = 0; i < count; i += 500) await Promise.all(Array.from({ length: Math.min(500, count - i) }, one));
  await target.close();
}

export async function run({ only, quick }) {
  const rows = [];
  const wanted = ["e2e-always", "e2e-nondurable", "e2e-batch", "store-size"].filter(only);
  if (wanted.length === 0) return rows;
  const dir = project();
  const count = quick ? 60 : 200;
  const servers = [];
  const serve = async (fsync, store = path.join(dir, `store-${fsync}`)) => {
    const s = await start([CLI, "serve", path.join(dir, "autokitteh.yaml"), "--port", "0", "--store", store], { AKTS_FSYNC: fsync });
    servers.push(s);
    return { ...s, store };
  };
  try {
    const floor = await start(["-e", FLOOR]);
    servers.push(floor);
    if (only("e2e-always") || only("e2e-nondurable")) {
      const always = await serve("always");
      const probe = syncProbe(dir);
      const p50 = await sequential([floor.url, `${always.url}/webhooks/durable`, `${always.url}/webhooks/nondurable`, probe], count, warmRounds(quick));
      probe.close();
      const [floorP50, durableP50, nondurableP50] = p50;
      const fsyncP50 = median(probe.samples.slice(-12 * count));
      const [coldFloor, coldDurable, coldNondurable] = p50.cold;
      const coldFsync = median(probe.samples.slice(12 * 20, 12 * (20 + count)));
      if (only("e2e-always")) {
        const limit = 1.3 * (floorP50 + 12 * fsyncP50);
        rows.push({ row: "e2e-always", what: "sync webhook, durable, fsync always, 10 steps (p50)", unit: "ms", subject: durableP50, baseline: floorP50 + 12 * fsyncP50, ratio: durableP50 / (floorP50 + 12 * fsyncP50), target: "<= 1.3x (HTTP floor + 12 fdatasync)", pass: durableP50 <= limit, floorP50, fsyncP50, coldRatio: coldDurable / (coldFloor + 12 * coldFsync), quick });
      }
      if (only("e2e-nondurable")) {
        rows.push({ row: "e2e-nondurable", what: "sync webhook, non-durable, 10 steps (p50)", unit: "ms", subject: nondurableP50, baseline: floorP50, ratio: nondurableP50 / floorP50, target: "<= 1.3x HTTP floor", pass: nondurableP50 <= 1.3 * floorP50, floorP50, coldRatio: coldNondurable / coldFloor, quick });
      }
    }
    if (only("e2e-batch")) {
      const ms = quick ? 2000 : 5000;
      const subjects = [["always", "durable"], ["batch", "durable"], ["none", "durable"], ["batch", "nondurable"]];
      const urls = [];
      for (const [fsync, trigger] of subjects) urls.push(`${(await serve(fsync, path.join(dir, `store-tp-${fsync}-${trigger}`))).url}/webhooks/${trigger}`);
      const [floorRps, ...rps] = await throughput([floor.url, ...urls], 64, ms);
      const measured = Object.fromEntries(subjects.map(([fsync, trigger], k) => [trigger === "durable" ? fsync : "non-durable", rps[k]]));
      // batch must also beat always at the same concurrency; always itself is context, not a row.
      for (const [label, target] of [["batch", 0.5], ["none", 0.7], ["non-durable", 0.7]]) {
        const rps = measured[label];
        const beatsAlways = label !== "batch" || rps > measured.always;
        rows.push({ row: `e2e-batch${label === "batch" ? "" : `-${label}`}`, what: `64 clients, ${label === "non-durable" ? "non-durable" : `durable, fsync ${label}`} (sessions/s)`, unit: "1/s", subject: rps, baseline: floorRps, ratio: rps / floorRps, target: `>= ${target}x HTTP floor${label === "batch" ? ", > always" : ""}`, pass: rps >= target * floorRps && beatsAlways, alwaysRps: measured.always, quick });
      }
    }
    if (only("store-size")) {
      const empty = await serve("always", path.join(dir, "store-empty"));
      await request(`${empty.url}/webhooks/durable`);
      await fillStore(path.join(dir, "store-full"), quick ? 10_000 : 100_000, empty.store);
      const full = await serve("always", path.join(dir, "store-full"));
      const [emptyP50, fullP50] = await sequential([`${empty.url}/webhooks/durable`, `${full.url}/webhooks/durable`], count, warmRounds(quick));
      rows.push({ row: "store-size", what: `a session with ${quick ? "10,000" : "100,000"} finished sessions in the store (p50)`, unit: "ms", subject: fullP50, baseline: emptyP50, ratio: fullP50 / emptyP50, target: "<= 1.2x empty store", pass: fullP50 <= 1.2 * emptyP50, quick });
    }
  } finally {
    for (const s of servers) s.stop();
    remove(dir);
  }
  return rows;
}

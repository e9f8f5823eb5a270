/**
 * Handler sources covering every determinism and serialization finding, shared by the compiler tests and the
 * editor tests. Each line that must produce findings ends in `// expect: CODE[, CODE]`; every other line must
 * produce none, so each file holds both the positive and the negative cases of its rules.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./helpers";

export const FILES: Record<string, string> = {
  "nondeterministic.ts": `export async function handler() {
  const a = Date.now(); // expect: AKTS1001
  const b = new Date(); // expect: AKTS1001
  const c = new Date(0);
  const d = Math.random(); // expect: AKTS1001
  const e = crypto.randomUUID(); // expect: AKTS1001
  const f = performance.now(); // expect: AKTS1001
  const g = crypto.getRandomValues(new Uint8Array(4)); // expect: AKTS1001
  return [a, b, c, d, e, f, g];
}
export function shadowed(Date: { now(): number }, Math: { random(): number }) {
  return Date.now() + Math.random();
}
export const loadedAt = Date.now();
`,
  "timers.ts": `import { setTimeout as wait } from "node:timers/promises";
import { sleep } from "akts";
export async function handler() {
  setTimeout(() => {}, 10); // expect: AKTS1002
  setInterval(() => {}, 10); // expect: AKTS1002
  setImmediate(() => {}); // expect: AKTS1002
  await wait(10); // expect: AKTS1002
  await sleep(10);
}
export const t = setTimeout(() => {}, 0);
clearTimeout(t);
`,
  "shared-state.ts": `export const shared = { count: 0 };
export const items: string[] = [];
export function read() { return shared.count; }
`,
  "state.ts": `import { shared } from "./shared-state.js";
import * as sharedState from "./shared-state.js";
let counter = 0;
var total = 0;
const seen = new Set<string>();
const list: string[] = [];
const byId = new Map<string, number>();
const config = { debug: false, tags: [] as string[] };
export async function handler(id: string) {
  counter++; // expect: AKTS1003
  total += 2; // expect: AKTS1003
  counter = 5; // expect: AKTS1003
  seen.add(id); // expect: AKTS1003
  list.push(id); // expect: AKTS1003
  byId.delete(id); // expect: AKTS1003
  config.debug = true; // expect: AKTS1003
  config.tags.push(id); // expect: AKTS1003
  delete (config as { debug?: boolean }).debug; // expect: AKTS1003
  shared.count++; // expect: AKTS1003
  sharedState.shared.count++; // expect: AKTS1003
  sharedState.items.push(id); // expect: AKTS1003
  sharedState.read();
  let local = 0;
  local++;
  const mine: string[] = [];
  mine.push(id);
  const sorted = list.slice().sort();
  const counter2 = { counter };
  counter2.counter = 1;
  return [local, mine, sorted, list.length + (byId.get(id) ?? 0) + counter];
}
counter = 1;
list.push("loaded");
`,
  "race.ts": `import { sleep, nextEvent } from "akts";
export async function handler(urls: string[]) {
  await Promise.race([fetch(urls[0]), fetch(urls[1])]);
  const a = fetch(urls[0]);
  await Promise.race([a, sleep(1000)]);
  await Promise.any([nextEvent("approved"), fetch(urls[1])]);
  await Promise.race([fetch(urls[0]), new Promise((r) => r(1))]); // expect: AKTS1004
  await Promise.race(urls.map((u) => fetch(u))); // expect: AKTS1004
  await Promise.all([fetch(urls[0]), Promise.resolve(1)]);
}
`,
  "env.ts": `import { env } from "node:process";
import { env as renamed, cwd } from "process";
const token = process.env.TOKEN;
export function withParameter(process: { env: Record<string, string> }) {
  return process.env.X;
}
export async function handler() {
  const a = process.env.TOKEN; // expect: AKTS1005
  const b = env.HOME; // expect: AKTS1005
  const c = renamed.HOME; // expect: AKTS1005
  const { env: required } = await import("node:process"); // expect: AKTS1005
  const d = required.HOME; // expect: AKTS1005
  const env2 = { HOME: "" };
  return [a, b, c, d, env2.HOME, cwd(), token];
}
`,
  "floating.ts": `import { writeFile } from "node:fs/promises";
import { statSync } from "node:fs";
export async function handler() {
  writeFile("a", "b"); // expect: AKTS1006
  writeFile("a", "b").catch(() => {}); // expect: AKTS1006
  await writeFile("a", "b");
  const p = writeFile("a", "b");
  statSync("a");
  return p;
}
`,
  "callbacks.ts": `import { readdir } from "node:fs";
export async function handler(dirs: string[]) {
  const names: string[] = [];
  let count = 0;
  readdir(dirs[0], (err, files) => names.push(...files)); // expect: AKTS1008
  readdir(dirs[1], function (err, files) { count += files.length; }); // expect: AKTS1008
  readdir(dirs[2], (err, files) => {
    const local: string[] = [];
    local.push(...files);
  });
  dirs.forEach((d) => names.push(d));
  return [names, count];
}
`,
  "marked.ts": `import { activity, noActivity } from "akts";
let calls = 0;
const work = activity(async () => {
  calls++;
  setTimeout(() => {}, 1);
  return Date.now() + Number(process.env.X);
});
/** @activity */
async function documented() {
  calls++;
  return Math.random();
}
const make = noActivity(() => {
  calls++;
  return new Date();
});
export async function handler() {
  return [await work(), await documented(), make()];
}
`,
  "live.ts": `import pg from "pg";
import axios from "axios";
import { activity } from "akts";
import { createReadStream, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
const pool = new pg.Pool();
function useClient(c: pg.PoolClient) {
  return c.query("select 1");
}
function logIt(x: unknown) {
  console.log(x);
}
function showStatus(r: { status: number }) {
  return r.status;
}
class Invoice {
  constructor(readonly total: number) {}
  formatted() {
    return "$" + this.total;
  }
}
const load = activity(async () => new Invoice(3));
export async function handler(url: string) {
  const user = await axios.get(url);
  const name: string = user.data.name;
  showStatus(user);
  logIt(user);
  const c = await pool.connect();
  await c.query("select 1"); // expect: AKTS2001
  c.release(); // expect: AKTS2001
  const { rows } = await pool.query("select 1");
  rows.map((r) => r.id);
  await (await pool.connect()).query("select 2"); // expect: AKTS2001
  const c2 = await pool.connect();
  await useClient(c2); // expect: AKTS2001
  const isFile = statSync("x").isFile();
  const st = await stat("x");
  const size = st.size;
  const dir = st.isDirectory(); // expect: AKTS2001
  const digest = createHash("sha256").update("x").digest("hex");
  const stream = createReadStream("x");
  await pipeline(stream, process.stdout); // expect: AKTS2001
  const res = await fetch(url);
  const body = await res.json();
  const loose: any = await axios.get(url);
  loose.whatever();
  const inv = await load();
  const total = inv.total + inv.formatted().length; // expect: AKTS2001
  for await (const chunk of createReadStream("y")) logIt(chunk); // expect: AKTS2004
  const lines = createReadStream("z");
  for await (const line of lines) logIt(line); // expect: AKTS2004
  return [name, isFile, size, dir, digest, body, total];
}
`,
};


/** `line → codes` from a source's `// expect:` comments. */
export function expectedFindings(name: string): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  FILES[name].split("\n").forEach((line, i) => {
    const m = /\/\/ expect: (.+)$/.exec(line);
    if (m) out[i + 1] = m[1].split(/,\s*/);
  });
  return out;
}

/** Writes the sources as a handler project (like the fixtures: NodeNext, node types, `akts` from the repo) into `dir`. */
export function writeSourcesProject(dir: string, compilerOptions: Record<string, unknown> = {}): void {
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  const options = {
    target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"], skipLibCheck: true, noEmit: true,
    paths: { akts: [path.relative(dir, path.join(ROOT, "runtime/index.ts"))] },
    ...compilerOptions,
  };
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: options, include: ["*.ts"] }));
  for (const [name, text] of Object.entries(FILES)) fs.writeFileSync(path.join(dir, name), text);
}

/**
 * `npm run bench [-- --only 5,6] [--quick]`: runs the benchmarks (docs/performance.md), prints the table and
 * writes bench/results.json (a full run only: `--only` and `--quick` runs print their table and leave the file, so
 * it always holds one whole run). Each row is measured against its baseline in the same run and process; each
 * module runs in a process of its own (bench/module.mjs), so no row inherits another's heap, files or compiled code.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BENCH, machine, options } from "./lib.mjs";

const MODULES = ["compile", "stub", "journal", "replay", "recover", "size", "e2e", "e2e-pg"];

const fmt = (n) => (n === undefined ? "" : Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));

/** What the row is judged on: a ratio to its baseline, or an absolute figure where there is none. */
function figure(r) {
  if (r.row === "1") return `${r.ratio.toFixed(2)}x tspc alone (vs tsc: tspc alone ${r.tspcAlone.ratio.toFixed(2)}x, plugin ${(r.subject / r.tsc.median).toFixed(2)}x, search floor ${r.searchFloor.ratio.toFixed(2)}x, installed ${r.installed.ratio.toFixed(2)}x)`;
  if (r.row.startsWith("4")) return `${fmt(r.overhead)} ns (CPU ${fmt(r.cpuOverhead)} ns)`;
  if (r.row === "e2e-batch") return `${r.ratio.toFixed(2)}x (always ${fmt(r.alwaysRps)}/s)`;
  if (r.row === "e2e-pg") {
    const batch = r.batchRatio === undefined ? `${fmt(r.batchP50)} ms` : `${fmt(r.batchP50)} ms, ${r.batchRatio.toFixed(2)}x`;
    const cold = r.coldRatio === undefined ? "" : `; first requests ${r.coldRatio.toFixed(2)}x: ${fmt(r.cold.pg)} against ${fmt(r.cold.dbos)} ms`;
    return `${r.ratio.toFixed(2)}x (fsync batch ${batch}; floors: HTTP ${fmt(r.floorP50)} ms, + 12 commits ${fmt(r.alwaysFloor)} ms, + 2 commits and 10 not flushed ${fmt(r.batchFloor)} ms${cold})`;
  }
  if (r.row.startsWith("8")) {
    const floor = r.floorRatio === undefined ? "" : `; await floor ${r.floorRatio.toFixed(2)}x, CPU ${r.cpuFloorRatio.toFixed(2)}x`;
    return `${fmt(r.entriesPerSecond)}/s, ${r.ratio.toFixed(2)}x (CPU ${r.cpuRatio.toFixed(2)}x${floor})`;
  }
  const cold = r.coldRatio === undefined ? "" : `; first requests ${r.coldRatio.toFixed(2)}x`;
  if (r.row === "e2e-always") return `${r.ratio.toFixed(2)}x (HTTP floor ${fmt(r.floorP50)} ms, fdatasync ${fmt(r.fsyncP50)} ms${cold})`;
  if (r.floorP50 !== undefined) return `${r.ratio.toFixed(2)}x (HTTP floor ${fmt(r.floorP50)} ms${cold})`;
  if (r.ratio !== undefined) return `${r.ratio.toFixed(2)}x`;
  return fmt(r.subject);
}

/** A row without a judged target (e2e-pg without --peers, the peers' rows) passes nothing and misses nothing. */
const verdict = (r, yes, no) => (r.pass === undefined ? "—" : r.pass ? yes : no);

function table(rows) {
  const head = ["#", "what", "unit", "akts", "baseline", "result", "target", "pass"];
  const body = rows.map((r) => [r.row, r.what, r.unit, fmt(r.subject), fmt(r.baseline), figure(r), r.target, verdict(r, "yes", "NO")]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

const argv = process.argv.slice(2);
const opts = options(argv);
const rows = [];
for (const name of MODULES) {
  const started = Date.now();
  const child = spawnSync(process.execPath, [path.join(BENCH, "module.mjs"), name, ...argv], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 });
  if (child.status !== 0) throw new Error(`bench module ${name} failed (exit ${child.status ?? child.signal})`);
  const got = JSON.parse(child.stdout);
  for (const r of got) process.stderr.write(`row ${r.row}: ${figure(r)} (${verdict(r, "pass", "MISS")})\n`);
  if (got.length > 0) process.stderr.write(`  ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  rows.push(...got);
}
const versions = rows.find((r) => r.versions)?.versions;
if (versions) process.stderr.write(`peers: ${Object.entries(versions).map(([p, v]) => `${p} ${v}`).join(", ")}\n`);
rows.sort((a, b) => parseFloat(a.row) - parseFloat(b.row) || a.row.localeCompare(b.row));
console.log(table(rows));
if (opts.full) fs.writeFileSync(path.join(BENCH, "results.json"), JSON.stringify({ machine: machine(), rows }, null, 2) + "\n");

/**
 * Rows 1-3: the compiler's cost on a generated 500-file project. Rows 1 and 2 run each command in its own
 * process (a cold compiler, as a build is), interleaved with the baseline; row 3 runs Babel in this process.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { ROOT, WORK, dist, interleaved } from "./lib.mjs";
import { generateProject } from "./gen-project.mjs";

const require = createRequire(import.meta.url);
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
const TSPC = path.join(ROOT, "node_modules", "ts-patch", "bin", "tspc.js");
const AKTS = path.join(ROOT, "bin", "akts.js");
const INSTALLED = path.join(WORK, "ts-installed", "node_modules", "typescript");

/** Runs node `args` in `cwd`; a compile error fails the benchmark rather than timing a broken build. */
function node(cwd, args, ok = (r) => r.status === 0) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  if (!ok(r)) throw new Error(`${args.join(" ")} failed (${r.status}):\n${(r.stdout + r.stderr).slice(0, 2000)}`);
}

/**
 * A copy of the repo's TypeScript patched once by `ts-patch install`, the README's advice for frequent builds: its
 * plain `tsc` applies the plugin without tspc's patching at every start. Made again when either version changes.
 */
function installedTsc() {
  const version = (pkg) => JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
  const stamp = path.join(INSTALLED, `.bench-installed-${version("typescript")}-${version("ts-patch")}`);
  if (!fs.existsSync(stamp)) {
    fs.rmSync(path.dirname(path.dirname(INSTALLED)), { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, "node_modules", "typescript"), INSTALLED, { recursive: true });
    node(ROOT, [path.join(ROOT, "node_modules", "ts-patch", "bin", "ts-patch.js"), "install", "--silent", "--dir", INSTALLED]);
    fs.writeFileSync(stamp, "");
  }
  return path.join(INSTALLED, "bin", "tsc");
}

function row(id, what, target, limit, base, subject) {
  const ratio = subject.median / base.median;
  return { row: id, what, unit: "ms", subject: subject.median, baseline: base.median, ratio, target, pass: ratio <= limit, samples: { baseline: base.samples, subject: subject.samples } };
}

/** Every handler file, read once: row 3 times the compilers, not the disk. */
function sources(dir) {
  const src = path.join(dir, "src");
  return fs.readdirSync(src).sort().map((f) => ({ file: path.join(src, f), code: fs.readFileSync(path.join(src, f), "utf8") }));
}

function babelRow(dir, rounds) {
  const { parse } = require("@babel/parser");
  const generate = require("@babel/generator").default;
  const { transformBabel } = dist("compiler/babel/index.js");
  const { validateOptions } = dist("compiler/options.js");
  const options = { ...validateOptions({}, "bench"), projectDir: dir };
  const files = sources(dir);
  const plain = () => {
    for (const { file, code } of files) {
      const ast = parse(code, { sourceType: "unambiguous", sourceFilename: file, plugins: ["decorators", "explicitResourceManagement", "typescript"] });
      generate(ast, { sourceMaps: false, sourceFileName: file }, code);
    }
  };
  const akts = () => {
    for (const { file, code } of files) transformBabel(code, file, options);
  };
  // Warm both paths first: this row measures steady-state work, not module loading.
  plain();
  akts();
  return interleaved(rounds, { plain, akts });
}

export async function run({ only, quick }) {
  const dir = generateProject(500);
  // Whole builds vary by several percent from one to the next on a shared machine: 7 interleaved runs each.
  const rounds = quick ? 1 : 7;
  const rows = [];
  if (only("1")) {
    const installed = installedTsc();
    const r = await interleaved(rounds, {
      tsc: () => node(dir, [TSC, "-p", "tsconfig.json"]),
      tspc: () => node(dir, [TSPC, "-p", "tsconfig.akts.json"]),
      tspcAlone: () => node(dir, [TSPC, "-p", "tsconfig.tspc.json"]),
      searchFloor: () => node(dir, [TSPC, "-p", "tsconfig.floor.json"]),
      installed: () => node(dir, [installed, "-p", "tsconfig.akts.json", "--outDir", "dist-installed"]),
    });
    // Measured alongside, not judged: tspc without the plugin (its own start-up), with the least possible site
    // search (the floor under the plugin's work), and the plugin applied by a TypeScript that ts-patch patched once.
    const beside = (s) => ({ median: s.median, ratio: s.median / r.tsc.median, samples: s.samples });
    // Re-based: tspc itself costs 1.01-1.11x tsc before any plugin runs, so the plugin is judged against tspc alone,
    // and the installed path (a TypeScript patched once) against plain tsc.
    const plugin = row("1", "build 500 handler files: tspc + akts plugin vs tspc alone", "≤ 1.10x tspc alone, installed ≤ 1.15x tsc", 1.1, r.tspcAlone, r.tspc);
    const patched = beside(r.installed);
    rows.push({ ...plugin, pass: plugin.pass && patched.ratio <= 1.15, tsc: beside(r.tsc), tspcAlone: beside(r.tspcAlone), searchFloor: beside(r.searchFloor), installed: patched });
  }
  if (only("2")) {
    const r = await interleaved(rounds, {
      tsc: () => node(dir, [TSC, "-p", "tsconfig.json", "--noEmit"]),
      // Exit 1 only means findings of severity error; what is timed is the analysis.
      check: () => node(dir, [AKTS, "check", "-p", "tsconfig.json"], (x) => x.status === 0 || (x.status === 1 && x.stdout.includes("activity sites"))),
    });
    rows.push(row("2", "akts check vs tsc --noEmit", "≤ 1.2x", 1.2, r.tsc, r.check));
  }
  if (only("3")) {
    const r = babelRow(dir, quick ? 3 : 9);
    rows.push(row("3", "Babel path (parse, akts rewrite, generate) vs @babel/parser + @babel/generator", "≤ 1.5x", 1.5, (await r).plain, (await r).akts));
  }
  return rows;
}

/** Shared by the tests that drive the real CLI in child processes. */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { JournalCorruptError } from "../runtime/errors";
import { encodeFrame, fileHeader, type JournalRecord } from "../runtime/journal";

export const ROOT = path.resolve(__dirname, "..");
export const CLI = path.join(ROOT, "bin", "akts.js");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI (`cli`: another install's `bin/akts.js`), with `env` added to the environment. */
export function akts(args: string[], options: { cwd?: string; input?: string; cli?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [options.cli ?? CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.input,
    encoding: "utf8",
    env: { ...process.env, ...options.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * What `run` (a CLI command run in this process) printed and its exit code. Not for tests that run concurrently:
 * this process's standard output is captured while it runs.
 */
export async function captureOutput(run: () => Promise<number>): Promise<CliResult> {
  const out = { stdout: "", stderr: "" };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (stream: "stdout" | "stderr") =>
    ((chunk: string | Uint8Array) => ((out[stream] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8")), true)) as typeof process.stdout.write;
  process.stdout.write = capture("stdout");
  process.stderr.write = capture("stderr");
  try {
    const code = await run();
    return { code, ...out };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}

/**
 * `akts <args>` by the built CLI in this process: for a command a test repeats in a loop (a listing per damaged
 * store) where the command's own process is not what the test checks. A process of its own costs a Node start-up
 * and the CLI's imports each time. Not for tests that run concurrently (standard output is captured).
 */
export function aktsInProcess(args: string[]): Promise<CliResult> {
  const cli = require(path.join(ROOT, "dist", "cli", "cli.js")) as typeof import("../cli/cli");
  return captureOutput(() => cli.main(args));
}

/** What `akts run` prints on standard error when nothing goes wrong: the session id at the start. */
export const RUN_STARTED = /^akts run: session ses_\w+ started \([^)]*\)\n$/;

/** The folders tempDir made in this worker and not removed yet: test/remove-temp-dirs.ts removes them after each file. */
export const madeDirs: string[] = [];

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `akts-${prefix}-`));
  madeDirs.push(dir);
  return dir;
}

export function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** Starts the CLI and SIGKILLs it once `file` has at least `count` lines; resolves when it is dead. */
export function killWhenLines(args: string[], file: string, count: number, cli = CLI): Promise<{ killed: boolean; stdout: string }> {
  return killWhen(args, () => lines(file).length >= count, cli);
}

/** The one session of a store, once it is listed in `status` (polls the CLI's `sessions` in this process; gives up after 15 s). */
export async function sessionIn(store: string, status?: string): Promise<{ id: string; session_id: string; status: string }> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const r = await aktsInProcess(["sessions", "--store", store, "--json"]);
    const list = r.code === 0 ? JSON.parse(r.stdout) : [];
    if (list.length > 0 && (!status || list[0].status === status)) return { ...list[0], id: list[0].session_id };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${status ?? ""} session in ${store}`);
}

/** Starts the CLI and SIGKILLs it once `ready()` says so; resolves when it is dead. */
export function killWhen(args: string[], ready: () => boolean, cli = CLI): Promise<{ killed: boolean; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let killed = false;
    child.stdout.on("data", (d) => (stdout += d));
    const timer = setInterval(() => {
      if (!killed && ready()) {
        killed = true;
        child.kill("SIGKILL");
      }
    }, 2);
    child.on("error", reject);
    child.on("exit", () => {
      clearInterval(timer);
      resolve({ killed, stdout });
    });
  });
}

/** A fresh folder under the repository's git-ignored `test/.tmp/`, where the root's type packages resolve. */
export function repoTempDir(prefix: string): string {
  const base = path.join(ROOT, "test", ".tmp");
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, `${prefix}-`));
}

/**
 * A copy of a fixture project in a temp folder outside the repository that still resolves packages and akts's
 * types from it (node_modules linked, the tsconfig's path to akts's types made absolute). Returns the project folder.
 */
export function copyFixture(name: string, dir: string): string {
  const project = path.join(dir, "project");
  fs.cpSync(path.join(ROOT, "fixtures", name), project, { recursive: true, filter: (src) => !src.includes(".akts") });
  const tsconfig = path.join(project, "tsconfig.json");
  fs.writeFileSync(tsconfig, fs.readFileSync(tsconfig, "utf8").replace("../../dist/runtime/index.d.ts", path.join(ROOT, "dist/runtime/index.d.ts")));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  return project;
}

/** The JournalCorruptError `fn` throws (anything else it throws is rethrown; throwing nothing fails). */
export function corruptError(fn: () => unknown): JournalCorruptError {
  try {
    fn();
  } catch (e) {
    if (e instanceof JournalCorruptError) return e;
    throw e;
  }
  throw new Error("expected JournalCorruptError");
}

/**
 * Writes a journal file as the one-file-per-session layout did (what `akts replay` and a store's migration read):
 * the file header, the records' frames, then `spare` zero bytes (space a writer allocated ahead). Mode 0600.
 */
export function writeJournalFile(file: string, records: readonly JournalRecord[], spare = 0): void {
  fs.writeFileSync(file, Buffer.concat([fileHeader(), ...records.map(encodeFrame), Buffer.alloc(spare)]), { mode: 0o600, flag: "wx" });
}

/**
 * `akts serve` and `akts worker` as child processes of a test: started (a server on a free port), resolved once
 * ready, killed after each test.
 */
import { afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLI, ROOT } from "./helpers";

export interface Launched {
  readonly child: ChildProcess;
  /** The match of the ready pattern in standard output. */
  readonly ready: RegExpExecArray;
  /** Everything the process printed so far; `all` has both streams as they came. */
  output(): { stdout: string; stderr: string; all: string };
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly token: string;
  readonly store: string;
  /** Everything the server printed so far. */
  output(): { stdout: string; stderr: string };
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) {
    // A test may have stopped it (SIGSTOP): a stopped process takes SIGKILL too, SIGCONT lets it go at once.
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
  running.clear();
});

/**
 * Leaves a process the test file started out of the kill after each test: for a server that several tests share
 * (started in `beforeAll`); the file stops it itself in `afterAll`.
 */
export function keepAcrossTests(child: ChildProcess): void {
  running.delete(child);
}

/** Starts the CLI with `args` (and `env` added) and resolves once its standard output matches `ready`. */
export function launch(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Launched> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  running.add(child);
  const out = { stdout: "", stderr: "", all: "" };
  child.stdout!.on("data", (d) => ((out.stdout += d), (out.all += d)));
  child.stderr!.on("data", (d) => ((out.stderr += d), (out.all += d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = ready.exec(out.stdout);
      if (!m) return;
      child.stdout!.off("data", onData);
      resolve({ child, ready: m, output: () => ({ ...out }), exited });
    };
    child.stdout!.on("data", onData);
    void exited.then(({ code }) => reject(new Error(`akts ${args[0]} exited with ${code} before it was ready:\n${out.all}`)));
  });
}

/** Starts `akts serve` and resolves once it prints its listening line. */
export async function serve(manifest: string, store: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const s = await launch(["serve", manifest, "--port", "0", "--store", store, ...extra], /akts serve: listening on (http:\/\/\S+)\n/, env);
  const token = fs.readFileSync(path.join(store, "admin-token"), "utf8").trim();
  return { child: s.child, url: s.ready[1], token, store, output: () => s.output(), exited: s.exited };
}

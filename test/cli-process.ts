/** A long-running CLI child process (`serve`, `run` that waits, `check --watch`) the tests read while it runs. */
import { spawn, type ChildProcess } from "node:child_process";
import { CLI, ROOT } from "./helpers";

export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in the stream, polling; rejects after `ms` or when the process ends. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every process started here that is still running, with what it started (for afterEach). */
export function killAll(): void {
  for (const child of children) signalGroup(child, "SIGKILL");
  children.clear();
}

/** Signals the child's whole process group: `npm run dev` passes no signal on to the server it started. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; command?: string[] } = {}): CliProcess {
  const [file, ...prefix] = options.command ?? [process.execPath, CLI];
  const child = spawn(file, [...prefix, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.add(child);
  const out = { stdout: "", stderr: "" };
  child.stdout!.on("data", (d) => (out.stdout += d));
  child.stderr!.on("data", (d) => (out.stderr += d));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      done = true;
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const waitFor = async (stream: "stdout" | "stderr", pattern: RegExp, ms = 30_000): Promise<RegExpExecArray> => {
    const until = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(out[stream]);
      if (m) return m;
      if (done || Date.now() > until) throw new Error(`no ${pattern} in ${stream} (${done ? "exited" : "timed out"}):\n${out.stdout}\n${out.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, stdout: () => out.stdout, stderr: () => out.stderr, waitFor, exited };
}

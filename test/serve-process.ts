/** `akts serve` as a child process of a test: started on a free port with its own store, killed after each test. */
import { afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLI, ROOT } from "./helpers";

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
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** Starts `akts serve` and resolves once it prints its listening line. */
export function serve(manifest: string, store: string, extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [CLI, "serve", manifest, "--port", "0", "--store", store, ...extra], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = /akts serve: listening on (http:\/\/\S+)\n/.exec(stdout);
      if (!m) return;
      child.stdout!.off("data", onData);
      const token = fs.readFileSync(path.join(store, "admin-token"), "utf8").trim();
      resolve({ child, url: m[1], token, store, output: () => ({ stdout, stderr }), exited });
    };
    child.stdout!.on("data", onData);
    void exited.then(({ code }) => reject(new Error(`akts serve exited with ${code} before listening:\n${stdout}\n${stderr}`)));
  });
}

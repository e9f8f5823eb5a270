/**
 * Fault injection, operator faults on the embedded store: a holder that died but was never reaped (a zombie), a
 * holder that is alive or stopped (`akts resume` names it, and `--wait`s for its lease), the store folder removed
 * under a running server, a request during a drain, and the server's resource limits.
 */
import { expect, test } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { akts, CLI, lines, tempDir } from "./helpers";
import { admin, MANIFEST, report, start, starts, stepsBody, until } from "./faults-harness";

function stepsEvent(dir: string, tag: string, options: { steps?: number; ms?: number } = {}): { event: string; log: string } {
  const log = path.join(dir, "steps.log");
  const event = path.join(dir, `${tag}.json`);
  fs.writeFileSync(event, JSON.stringify({ body: { json: stepsBody(log, tag, options) } }));
  return { event, log };
}

function procState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

function resumeLines(stdout: string): any[] {
  return stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

test("a zombie holder holds nothing: akts resume takes its session over at once", async () => {
  const dir = tempDir("faults-zombie");
  const store = path.join(dir, "store");
  const { event, log } = stepsEvent(dir, "z", { steps: 4, ms: 300 });
  // The runner's parent execs into a process that never reaps it: once killed, the runner stays a zombie.
  const parent = spawn("sh", ["-c", `"${process.execPath}" "${CLI}" run "${MANIFEST}" --trigger steps --event "${event}" --store "${store}" >/dev/null 2>&1 & echo $!; exec sleep 120`], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  try {
    let out = "";
    parent.stdout!.on("data", (d) => (out += d));
    const pid = await until("the runner's pid", () => (/^\d+\n/.test(out) ? Number(out) : undefined));
    await until("the first step", () => (lines(log).includes("z start 1") ? true : undefined), 30_000);
    process.kill(pid, "SIGKILL");
    await until("the runner to be a zombie", () => (procState(pid) === "Z" ? true : undefined));
    // The lease's TTL (60 s) is far off: only the zombie check can free it.
    const resumed = akts(["resume", "--manifest", MANIFEST, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const [line] = resumeLines(resumed.stdout);
    expect(line).toMatchObject({ action: "resumed", status: "completed", result: { tag: "z", values: [10, 20, 30, 40] } });
    expect(resumed.stderr).toBe("akts resume: 1 unfinished: 1 resumed (0 failed), 0 finished elsewhere, 0 skipped\n");
    const reruns = [...starts(log, "z").values()].reduce((a, n) => a + n - 1, 0);
    report({ scenario: "zombie holder, then akts resume", accepted: 1, completed: 1, lost: 0, failed: 0, rerun: Math.max(0, reruns - 1) });
    expect(reruns).toBeLessThanOrEqual(1);
  } finally {
    parent.kill("SIGKILL");
  }
});

test("akts resume names a live holder it skips, and --wait takes the session once a stopped holder's lease expires", async () => {
  const dir = tempDir("faults-held");
  const store = path.join(dir, "store");
  const { event, log } = stepsEvent(dir, "h", { steps: 12, ms: 250 });
  const runner = spawn(process.execPath, [CLI, "run", MANIFEST, "--trigger", "steps", "--event", event, "--store", store], {
    stdio: "ignore",
    env: { ...process.env, AKTS_LEASE_TTL_MS: "2000" },
  });
  try {
    await until("the first step", () => (lines(log).includes("h start 1") ? true : undefined), 30_000);
    const skipped = akts(["resume", "--manifest", MANIFEST, "--store", store]);
    expect(skipped.code, skipped.stderr).toBe(0);
    const [line] = resumeLines(skipped.stdout);
    expect(line).toMatchObject({ action: "skipped", status: expect.stringMatching(/^(running|waiting)$/), holder: `runner-${runner.pid} (pid ${runner.pid} on ${os.hostname()})` });
    expect(skipped.stderr).toBe("akts resume: 1 unfinished: 0 resumed (0 failed), 0 finished elsewhere, 1 skipped\n");
    runner.kill("SIGSTOP");
    const stoppedAt = Date.now();
    const waited = akts(["resume", "--manifest", MANIFEST, "--store", store, "--wait", "30"]);
    expect(waited.code, waited.stderr).toBe(0);
    expect(resumeLines(waited.stdout)).toMatchObject([{ action: "resumed", status: "completed" }]);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1000);
  } finally {
    runner.kill("SIGKILL");
  }
});

test("the store folder removed under akts serve: 503 AKTS7016 with one log line, and serving again once it is back", async () => {
  const dir = tempDir("faults-gone");
  const store = path.join(dir, "store");
  const s = await start("serve", store);
  const token = fs.readFileSync(path.join(store, "admin-token"), "utf8").trim();
  const post = () => fetch(`${s.url}/webhooks/steps`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(stepsBody(path.join(dir, "log"), "g", { steps: 1, ms: 1 })) });
  const completed = async (res: Response) => {
    expect(res.status).toBe(202);
    const { session_id } = (await res.json()) as { session_id: string };
    await until("the session to complete", async () => ((await admin(s.url!, token, `/sessions/${session_id}`)).status === "completed" ? true : undefined));
  };
  // Served before the removal: the server knows the folder is there (it watches it rather than looking per request),
  // and still refuses the very next request after the removal.
  await completed(await post());
  const backup = path.join(dir, "backup");
  fs.cpSync(store, backup, { recursive: true });
  fs.rmSync(store, { recursive: true });
  for (let i = 0; i < 3; i++) {
    const res = await post();
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).error.code).toBe("AKTS7016");
  }
  expect(s.output().match(/the store folder \S+ was removed/g)).toHaveLength(1);
  fs.renameSync(backup, store);
  await completed(await post());
  expect(s.output()).toMatch(/the store folder \S+ is back/);
  expect(s.output()).not.toMatch(/\n\s+at /);
  report({ scenario: "store folder removed, then restored", accepted: 2, completed: 2, lost: 0, failed: 0, rerun: 0 });
});

test("a request during a drain gets 503 AKTS7008; the drained session is finished by the next runner", async () => {
  const dir = tempDir("faults-drain");
  const store = path.join(dir, "store");
  const log = path.join(dir, "log");
  const s = await start("serve", store);
  const res = await fetch(`${s.url}/webhooks/steps`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(stepsBody(log, "d", { steps: 2, ms: 1500 })) });
  expect(res.status).toBe(202);
  await until("the first step", () => (lines(log).includes("d start 1") ? true : undefined));
  s.child.kill("SIGTERM");
  await until("the drain", () => (/draining/.test(s.output()) ? true : undefined));
  const during = await fetch(`${s.url}/webhooks/steps`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(during.status).toBe(503);
  expect(await during.json()).toEqual({ error: { code: "AKTS7008", message: "the server is shutting down" } });
  expect((await s.exited).code).toBe(0);
  const next = await start("worker", store);
  await until("the drained session to finish", () => (lines(log).includes("d done 2") ? true : undefined));
  next.child.kill("SIGTERM");
  expect((await next.exited).code).toBe(0);
  expect(lines(log).filter((l) => l === "d start 1")).toHaveLength(1);
});

test("limits: connections past --max-connections are closed, client aborts are not logged", async () => {
  const dir = tempDir("faults-limits");
  const s = await start("serve", path.join(dir, "store"), ["--max-connections", "5"]);
  const { port } = new URL(s.url!);
  const sockets = await Promise.all(
    Array.from({ length: 20 }, () => new Promise<net.Socket>((resolve) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => resolve(socket));
      socket.on("error", () => {});
    })),
  );
  await new Promise((r) => setTimeout(r, 500));
  expect(sockets.filter((socket) => !socket.destroyed && !socket.readableEnded).length).toBeLessThanOrEqual(5);
  for (const socket of sockets) socket.destroy();
  // A client that sends half a body and goes away.
  const aborted = net.connect(Number(port), "127.0.0.1", () => {
    aborted.on("error", () => {});
    aborted.write("POST /webhooks/echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{");
    setTimeout(() => aborted.destroy(), 100);
  });
  await new Promise((r) => setTimeout(r, 500));
  const echo = await fetch(`${s.url}/webhooks/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(echo.status).toBe(200);
  expect(s.output()).not.toMatch(/request failed|\n\s+at /);
});

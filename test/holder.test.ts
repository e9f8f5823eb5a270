/**
 * processAlive (runtime/store/holder.ts) on a process this one may not signal: `kill(pid, 0)` fails with EPERM, and
 * the process is alive. As root (CAP_KILL) no signal is refused, so the test drops its effective user for the check;
 * it needs a process of its own (vitest's forks pool), not a worker thread (where Stryker runs tests): it is in no
 * mutation group, and docs/testing.md says so for `holder.ts:36`.
 */
import { expect, test } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { processAlive } from "../runtime/store/holder";

test("a holder this process may not signal (EPERM) is alive; one that has exited is not", async () => {
  const root = process.getuid!() === 0;
  // As root: a process of user nobody, checked with the effective user of another (daemon, 1). Otherwise: PID 1, root's.
  const other = root ? spawn("sleep", ["30"], { uid: 65534, gid: 65534, stdio: "ignore" }) : undefined;
  try {
    const pid = other ? other.pid! : 1;
    if (other) await new Promise((r) => other.once("spawn", r));
    if (root) process.seteuid!(1);
    let refused: string | undefined;
    let alive: boolean;
    try {
      try {
        process.kill(pid, 0);
      } catch (err) {
        refused = (err as NodeJS.ErrnoException).code;
      }
      alive = processAlive(pid, undefined);
    } finally {
      if (root) process.seteuid!(0);
    }
    expect(refused).toBe("EPERM");
    expect(alive).toBe(true);
  } finally {
    other?.kill("SIGKILL");
  }
  expect(processAlive(spawnSync(process.execPath, ["-e", ""]).pid, undefined)).toBe(false);
});

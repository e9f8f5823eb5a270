/**
 * Fault injection, embedded store: two `akts serve` and one `akts worker` share one store folder; the server that
 * accepted the sessions is SIGKILLed mid-run, and its live peers take the orphans over with no restart.
 */
import { expect, test } from "vitest";
import * as path from "node:path";
import { tempDir } from "./helpers";
import { adminToken, allEnded, allStarted, count, load, report, start, takenOver, TTL_MS } from "./faults-harness";

test("SIGKILL of one of three runners on one store folder: live peers finish its sessions", async () => {
  const dir = tempDir("faults-file");
  const store = path.join(dir, "store");
  const a = await start("serve", store);
  const [b] = await Promise.all([start("serve", store), start("worker", store)]);
  const token = adminToken(store);
  const work = await load(a.url!, dir, 24, { steps: 4, ms: 150 });
  await allStarted(work);
  const killedAt = Date.now();
  a.child.kill("SIGKILL");
  await a.exited;
  const takeoverS = await takenOver([...work.tags.keys()], b.url!, token, killedAt);
  await allEnded(work, b.url!, token);
  const counts = await count("SIGKILL 1 of 3 runners (file store)", work, b.url!, token, takeoverS);
  report(counts);
  expect(counts).toMatchObject({ accepted: 24, completed: 24, lost: 0, failed: 0, rerun: 0 });
  expect(takeoverS).toBeLessThanOrEqual((1.5 * TTL_MS) / 1000);
});

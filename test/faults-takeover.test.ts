/**
 * Fault injection, embedded store: two `akts serve` and one `akts worker` share one store folder; the server that
 * accepted the sessions is SIGKILLed mid-run, and its live peers take the orphans over with no restart.
 */
import { test } from "vitest";
import * as path from "node:path";
import { tempDir } from "./helpers";
import { killOneRunner } from "./faults-harness";

test("SIGKILL of one of three runners on one store folder: live peers finish its sessions", async () => {
  const dir = tempDir("faults-file");
  await killOneRunner("SIGKILL 1 of 3 runners (file store: 2 serve + 1 worker)", path.join(dir, "store"), dir, ["serve", "worker"]);
});

/**
 * `akts serve` writes its lines (access, session started and ended) to standard error in one write per timer tick,
 * after the answer that made them, and whatever is pending when the process exits.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterEach, expect, test, vi } from "vitest";
import { batchedStderr } from "../cli/serve-log";
import { ROOT } from "./helpers";

afterEach(() => vi.restoreAllMocks());

test("lines written in one turn go out together in one write, on the next timer tick, in order", async () => {
  const writes: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation(((chunk: string) => writes.push(chunk) > 0) as typeof process.stderr.write);
  const write = batchedStderr();
  write("a\n");
  write("b\n");
  write("c\n");
  expect(writes).toEqual([]);
  await new Promise((r) => setTimeout(r, 5));
  expect(writes).toEqual(["a\nb\nc\n"]);
  write("d\n");
  await new Promise((r) => setTimeout(r, 5));
  expect(writes).toEqual(["a\nb\nc\n", "d\n"]);
});

test("lines pending when the process exits are written", () => {
  // The built CLI, as `akts serve` runs it.
  const module = path.join(ROOT, "dist", "cli", "serve-log.js");
  const script = `const { batchedStderr } = require(${JSON.stringify(module)}); const w = batchedStderr(); w("one\\n"); w("two\\n"); process.exit(0);`;
  const run = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  expect(run.stderr).toBe("one\ntwo\n");
});

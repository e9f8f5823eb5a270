/**
 * `akts serve` writes its lines (access, session started and ended) to standard error in one write per timer tick,
 * at most one per LOG_WRITE_MS, after the answer that made them, and whatever is pending when the process exits.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterEach, expect, test, vi } from "vitest";
import { batchedStderr, LOG_WRITE_MS } from "../cli/serve-log";
import { ROOT } from "./helpers";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

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
  await new Promise((r) => setTimeout(r, LOG_WRITE_MS));
  write("d\n");
  await new Promise((r) => setTimeout(r, 5));
  expect(writes).toEqual(["a\nb\nc\n", "d\n"]);
});

test("lines that follow a write within LOG_WRITE_MS share one write at the end of that time", () => {
  vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
  const writes: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation(((chunk: string) => writes.push(chunk) > 0) as typeof process.stderr.write);
  const write = batchedStderr();
  write("a\n");
  vi.advanceTimersByTime(0);
  expect(writes).toEqual(["a\n"]);
  vi.advanceTimersByTime(1);
  write("b\n");
  vi.advanceTimersByTime(1);
  write("c\n");
  vi.advanceTimersByTime(LOG_WRITE_MS - 3);
  expect(writes).toEqual(["a\n"]);
  vi.advanceTimersByTime(1);
  expect(writes).toEqual(["a\n", "b\nc\n"]);
});

test("lines pending when the process exits are written", () => {
  // The built CLI, as `akts serve` runs it.
  const module = path.join(ROOT, "dist", "cli", "serve-log.js");
  const script = `const { batchedStderr } = require(${JSON.stringify(module)}); const w = batchedStderr(); w("one\\n"); w("two\\n"); process.exit(0);`;
  const run = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  expect(run.stderr).toBe("one\ntwo\n");
});

/**
 * Iterating what a paginated SDK returns, with real processes (fixtures/paginate): `akts run` is SIGKILLed before,
 * in the middle of and after the iteration, then `akts resume` finishes the session. Every item is handled once
 * (only the one in flight at the kill may run twice), the result is a clean run's, and a resume reads no page
 * the journal holds again: in the middle of the iteration it continues with the SDK's cursor (octokit's next link,
 * Stripe's starting_after), past it it reads nothing.
 */
import { beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, killWhenLines, lines, ROOT, RUN_STARTED, tempDir } from "./helpers";
import { lastJson } from "./crash-steps";

const MANIFEST = path.join(ROOT, "fixtures/paginate/autokitteh.yaml");
const ITEMS = ["a", "b", "c", "d", "e", "f"];

function event(dir: string): string {
  const file = path.join(dir, "event.json");
  fs.writeFileSync(file, JSON.stringify({ log: path.join(dir, "log"), pauseMs: 150 }));
  return file;
}

const TRIGGERS = {
  iterator: { result: { seen: ITEMS.map((i) => i.toUpperCase()) }, lines: 10 },
  list: { result: { first: [{ id: "a" }, { id: "b" }], seen: ITEMS.map((i) => i.toUpperCase()) }, lines: 11 },
};

beforeAll(() => {
  // A clean run of each trigger, which also compiles the project once.
  for (const [trigger, expected] of Object.entries(TRIGGERS)) {
    const dir = tempDir(`paginate-${trigger}`);
    const r = akts(["run", MANIFEST, "--trigger", trigger, "--event", event(dir), "--store", path.join(dir, "store")]);
    expect(r.stderr).toMatch(RUN_STARTED);
    expect(lastJson(r.stdout)).toMatchObject({ status: "completed", result: expected.result });
    expect(lines(path.join(dir, "log"))).toHaveLength(expected.lines);
  }
});

describe.each(Object.entries(TRIGGERS))("%s: SIGKILL, then resume", (trigger, expected) => {
  // After the first page is read, in the middle, and after the iteration (its last line, before the handler returns).
  test.each([1, Math.ceil(expected.lines / 2), expected.lines])("after %i lines", async (k) => {
    const dir = tempDir(`paginate-${trigger}-${k}`);
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    const { killed } = await killWhenLines(["run", MANIFEST, "--trigger", trigger, "--event", event(dir), "--store", store], log, k);
    expect(killed).toBe(true);
    const before = lines(log);

    const resumed = akts(["resume", "--manifest", MANIFEST, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed.stdout)).toMatchObject({ status: "completed", result: expected.result });

    const after = lines(log);
    expect(after.slice(0, before.length)).toEqual(before);
    const handled = after.filter((l) => l.startsWith("item "));
    expect([...new Set(handled)]).toEqual(ITEMS.map((i) => `item ${i}`));
    const twice = ITEMS.filter((i) => handled.filter((l) => l === `item ${i}`).length > 1);
    expect(twice.length).toBeLessThanOrEqual(1);
    // Every item handled before the kill was journaled, but the last one, which may have been in flight.
    for (const line of before.filter((l) => l.startsWith("item ")).slice(0, -1)) expect(after.filter((l) => l === line)).toHaveLength(1);
    // The resume reads no page read before the kill again (but the last one, which may have been in flight), and
    // past the iteration none at all.
    const pagesBefore = before.filter((l) => l.includes("page"));
    const pagesAfter = after.slice(before.length).filter((l) => l.includes("page"));
    expect(pagesAfter.filter((l) => pagesBefore.includes(l) && l !== pagesBefore.at(-1))).toEqual([]);
    expect(pagesAfter.filter((l) => l === pagesBefore.at(-1)).length).toBeLessThanOrEqual(1);
    if (k === expected.lines) expect(pagesAfter).toEqual([]);
  });
});

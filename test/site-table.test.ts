import { expect, test } from "vitest";
import fc from "fast-check";
import { siteTable } from "../compiler/rewrite";
import { compactText } from "../compiler/activities";
import { site, sites } from "../runtime/site";
import type { SiteReason } from "../compiler/types";

const REASONS: SiteReason[] = ["external", "fetch", "marked", "nondeterministic"];

test("the compiler's site table reads back as the sites it lists, whatever the labels hold (property)", () => {
  const row = fc.record({
    line: fc.integer({ min: 1, max: 1_000_000 }),
    column: fc.integer({ min: 1, max: 10_000 }),
    reason: fc.constantFrom(...REASONS),
    // Labels are source text with its layout compacted: spaces, colons, quotes, backslashes and any Unicode, no line break.
    callee: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).map(compactText).filter((c) => c.trim() !== ""),
  });
  fc.assert(
    fc.property(fc.array(row, { minLength: 1, maxLength: 30 }), (rows) => {
      const infos = rows.map((r) => ({ file: "src/a b.ts", ...r }));
      expect(sites("src/a b.ts", siteTable(infos))).toEqual(infos.map((s) => site(s.file, s.line, s.column, s.callee, s.reason)));
    }),
    { numRuns: 500 },
  );
});

test("labels with spaces and colons keep them", () => {
  const table = siteTable([
    { file: "p.ts", line: 3, column: 7, reason: "nondeterministic", callee: "new Date" },
    { file: "p.ts", line: 4, column: 1, reason: "external", callee: 'c["a:b c"]' },
  ]);
  expect(table).toBe('3:7 nondeterministic new Date\n4:1 external c["a:b c"]');
  expect(sites("p.ts", table).map((s) => [s.id, s.callee, s.reason])).toEqual([
    ["p.ts:3:7", "new Date", "nondeterministic"],
    ["p.ts:4:1", 'c["a:b c"]', "external"],
  ]);
});

test("a row that is not `line:column reason callee` is a TypeError naming the file and the row", () => {
  expect(() => sites("p.ts", "3:7 external a\n3 external b")).toThrow(new TypeError('akts: row 2 of the site table of p.ts is not "line:column reason callee": "3 external b"'));
  expect(() => sites("p.ts", "3:7 live a")).toThrow(/row 1 of the site table of p\.ts/);
  expect(() => sites("p.ts", "3:7 external ")).toThrow(/row 1/);
});

import { expect, test } from "vitest";
import fc from "fast-check";
import { formatSiteTable as siteTable, SITE_REASONS } from "../stub-contract";
import { compactText } from "../compiler/rules/label";
import { site, sites } from "../runtime/site";
import * as stub from "../runtime/stub";
import { table } from "../runtime/stub";

const REASONS = SITE_REASONS;

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
    { line: 3, column: 7, reason: "nondeterministic", callee: "new Date" },
    { line: 4, column: 1, reason: "external", callee: 'c["a:b c"]' },
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

test("a file's table (stub ABI 3) calls through the site at each index", () => {
  const t = table("p.ts", "3:7 external client.query\n4:1 external slack.chat.post\n5:2 nondeterministic Date.now");
  expect(t.sites).toEqual(sites("p.ts", "3:7 external client.query\n4:1 external slack.chat.post\n5:2 nondeterministic Date.now"));
  const client = { rows: [1], query(this: { rows: number[] }, n: number) { return [...this.rows, n]; } };
  expect(t.call(0, client, client.query, [2])).toEqual([1, 2]);
  // The index picks the site: its label is what a native call of a non-function names.
  expect(() => t.call(1, undefined, undefined, [])).toThrow(new TypeError("slack.chat.post is not a function"));
  expect(() => t.call(0, undefined, 7, [])).toThrow(new TypeError("client.query is not a function"));
  expect(t.nondet(2, () => 42)).toBe(42);
});

test("modules compiled for stub ABI 1 (`site`) and 2 (`sites`) still run", () => {
  const double = (x: number) => x * 2;
  const [s0] = stub.sites("p.ts", "3:7 external double");
  expect(stub.call(s0, undefined, double, [4])).toBe(8);
  expect(stub.call(stub.site("p.ts", 3, 7, "double", "external"), undefined, double, [5])).toBe(10);
  expect(stub.STUB_ABI).toBe(3);
});

/** The JSON nesting limit of `akts serve` (runtime/server/body.ts): measured on the text, strings excluded. */
import { expect, test } from "vitest";
import { jsonDepth, MAX_JSON_DEPTH, parseJson } from "../runtime/server/body";

test("depth counts arrays and objects, not brackets inside strings or escaped quotes", () => {
  expect(jsonDepth("1")).toBe(0);
  expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
  expect(jsonDepth(JSON.stringify({ s: "[[[[{{{{", t: 'q"[[[' }))).toBe(1);
  expect(jsonDepth(JSON.stringify(["\\", "[[["]))).toBe(1);
});

test("at the limit a body parses; one level deeper is 400 AKTS7015, however the text is shaped", () => {
  const nested = (depth: number) => '{"a":'.repeat(depth - 1) + "[]" + "}".repeat(depth - 1);
  expect(parseJson(nested(MAX_JSON_DEPTH))).toBeTruthy();
  expect(() => parseJson(nested(MAX_JSON_DEPTH + 1))).toThrow(expect.objectContaining({ status: 400, code: "AKTS7015" }));
  expect(() => parseJson("[".repeat(100_000))).toThrow(expect.objectContaining({ code: "AKTS7015" }));
  expect(() => parseJson("[1,")).toThrow(expect.objectContaining({ status: 400, code: "AKTS7001" }));
});

/**
 * The Babel plugin as a bundler runs it (@babel/core): its findings reach `file.metadata.akts` and the console,
 * and `failOn` fails the build on them.
 */
import { afterEach, expect, test, vi } from "vitest";
import * as path from "node:path";
import { transformSync } from "@babel/core";
import { ROOT, tempDir } from "./helpers";

const PLUGIN = path.join(ROOT, "dist", "integrations", "babel.js");
const CODE = 'export async function handler(event) {\n  setTimeout(() => {}, 10);\n  return fetch(event.url);\n}\n';

afterEach(() => vi.restoreAllMocks());

function transform(options: Record<string, unknown>) {
  const dir = tempDir("babel-findings");
  const filename = path.join(dir, "handler.mjs");
  const out = transformSync(CODE, { filename, cwd: dir, configFile: false, babelrc: false, plugins: [[PLUGIN, { projectDir: dir, ...options }]] });
  return { out, filename };
}

test("findings go to file.metadata.akts and to the console", () => {
  const written: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (written.push(String(chunk)), true));
  const { out, filename } = transform({});
  const akts = (out!.metadata as { akts?: { sites: unknown[]; diagnostics: unknown[] } }).akts;
  expect(akts?.sites).toEqual([expect.objectContaining({ file: "handler.mjs", line: 3, callee: "fetch", reason: "fetch" })]);
  expect(akts?.diagnostics).toEqual([expect.objectContaining({ code: "AKTS1002", severity: "warning", file: "handler.mjs", line: 2, column: 3 })]);
  const shown = path.relative(process.cwd(), filename);
  expect(written).toEqual([`${shown}:2:3: warning AKTS1002: setTimeout in workflow code is not durable${written[0].slice(written[0].indexOf("durable") + 7)}`]);
});

test('failOn: "error" lets warnings through; failOn: "warning" fails the build with the finding\'s location', () => {
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  expect(transform({ failOn: "error" }).out!.code).toContain("fetch");
  expect(() => transform({ failOn: "warning" })).toThrow(/handler\.mjs:2:3: .*AKTS1002.*setTimeout.*failOn: "warning"/s);
  expect(() => transform({ failOn: "always" })).toThrow('failOn must be "error", "warning" or "never", not "always"');
});

/**
 * What `akts run` compiles and keeps: a cache entry is keyed by the files the program compiles (an event or data
 * file beside them changes nothing), sessions record the code's replay fingerprint, which an edit that changes no
 * activity keeps, the compile cache keeps the newest few entries, and `akts build` points `file:` dependencies from the bundle folder.
 */
import { expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE_ENTRIES } from "../cli/compile-cache";
import { akts, copyFixture, tempDir } from "./helpers";

function project(): { dir: string; manifest: string; store: string } {
  const root = tempDir("compile-cache");
  const dir = copyFixture("first-hour", root);
  return { dir, manifest: path.join(dir, "autokitteh.yaml"), store: path.join(root, "store") };
}

const cacheEntries = (dir: string) => fs.readdirSync(path.join(dir, ".akts", "cache")).sort();

function headerFingerprint(store: string, id: string): string {
  return JSON.parse(akts(["journal", id, "--store", store, "--json"]).stdout)[0].fingerprint;
}

test("the cache is keyed by the compiled files only and keeps the newest entries; the fingerprint survives edits that change no activity", () => {
  const { dir, manifest, store } = project();
  const run = () => {
    const r = akts(["run", manifest, "--trigger", "lossy", "--store", store]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).session_id as string;
  };
  const first = run();
  const fingerprint = headerFingerprint(store, first);
  expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
  const [entry] = cacheEntries(dir);
  expect(cacheEntries(dir)).toEqual([entry]);
  expect(JSON.parse(fs.readFileSync(path.join(dir, ".akts", "cache", entry, "files.json"), "utf8"))).toEqual(["program.ts"]);

  // Files the program does not compile: an event, data, a script.
  fs.writeFileSync(path.join(dir, "event.json"), '{"n": 1}');
  fs.mkdirSync(path.join(dir, "data"));
  fs.writeFileSync(path.join(dir, "data", "rows.json"), "[1, 2]");
  fs.writeFileSync(path.join(dir, "notes.js"), "// not imported");
  const second = run();
  expect(headerFingerprint(store, second)).toBe(fingerprint);
  expect(cacheEntries(dir)).toEqual([entry]);
  const replay = akts(["replay", second, "--manifest", manifest, "--store", store]);
  expect(replay.stdout).toBe(`${second}: replays cleanly (1 activity, result matches)\n`);

  // Each change to the program is a new entry; only the newest CACHE_ENTRIES stay. None of these changes an
  // activity, so the sessions all record the same fingerprint.
  const fingerprints = new Set([fingerprint]);
  const seen = new Set([entry]);
  for (let i = 0; i < CACHE_ENTRIES + 1; i++) {
    fs.appendFileSync(path.join(dir, "program.ts"), `\nexport const version${i} = ${i};\n`);
    fingerprints.add(headerFingerprint(store, run()));
    for (const e of cacheEntries(dir)) seen.add(e);
  }
  expect(fingerprints).toEqual(new Set([fingerprint]));
  expect(seen.size).toBe(CACHE_ENTRIES + 2);
  expect(cacheEntries(dir)).toHaveLength(CACHE_ENTRIES);
}, 300_000);

test("akts build points file: dependencies from the bundle folder, so npm install works there", () => {
  const { dir, manifest } = project();
  const lib = path.join(dir, "vendor", "greeting");
  fs.mkdirSync(lib, { recursive: true });
  fs.writeFileSync(path.join(lib, "package.json"), JSON.stringify({ name: "greeting", version: "1.0.0", main: "index.js" }));
  fs.writeFileSync(path.join(lib, "index.js"), 'module.exports = "hello";\n');
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ ...pkg, dependencies: { greeting: "file:vendor/greeting", left: "^1.0.0" } }));
  const out = path.join(dir, "..", "deploy", "dist");
  const r = akts(["build", manifest, "-o", out]);
  expect(r.code, r.stderr).toBe(0);
  const deps = JSON.parse(fs.readFileSync(path.join(out, "package.json"), "utf8")).dependencies;
  expect(deps).toEqual({ greeting: "file:../../project/vendor/greeting", left: "^1.0.0" });
  // The file: dependency installs from the bundle folder (the registry one is left out: no network needed).
  fs.writeFileSync(path.join(out, "package.json"), JSON.stringify({ private: true, dependencies: { greeting: deps.greeting } }));
  const npm = spawnSync("npm", ["install", "--offline", "--no-audit", "--no-fund"], { cwd: out, encoding: "utf8" });
  expect(npm.status, npm.stderr).toBe(0);
  expect(fs.readFileSync(path.join(out, "node_modules", "greeting", "index.js"), "utf8")).toContain("hello");
});

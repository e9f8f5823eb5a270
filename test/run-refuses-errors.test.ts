/**
 * `akts run` and `akts serve` refuse a project with error findings, as `akts build` does, printing the findings:
 * fixtures/pg-sync uses a pool client as a live object (AKTS2001).
 */
import { expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { akts, CLI, ROOT, tempDir } from "./helpers";

const MANIFEST = path.join(ROOT, "fixtures/pg-sync/autokitteh.yaml");
const FINDING = /^fixtures\/pg-sync\/program\.ts:\d+:\d+: error AKTS2001: /m;

test.each([
  ["run", ["--trigger", "nightly"]],
  ["serve", ["--port", "0"]],
])("akts %s prints the findings and exits 1, running nothing", (command, args) => {
  const store = path.join(tempDir(`refuse-${command}`), "store");
  // A serve that does not refuse would listen until killed: it gets a minute.
  const r = spawnSync(process.execPath, [CLI, command, MANIFEST, ...args, "--store", store], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toMatch(FINDING);
  expect(r.stderr).toContain(`akts ${command}: error AKTS2001: the project has 3 errors (above), so it is not run`);
  expect(r.stdout).not.toContain("listening");
  expect(fs.existsSync(path.join(ROOT, "fixtures/pg-sync/.akts/cache")) && fs.readdirSync(path.join(ROOT, "fixtures/pg-sync/.akts/cache")).length).toBeFalsy();
  // The same findings as akts build's.
  const build = akts(["build", MANIFEST, "-o", path.join(path.dirname(store), "out")]);
  expect(r.stderr.split("\n").filter((l) => FINDING.test(l))).toEqual(build.stderr.split("\n").filter((l) => FINDING.test(l)));
});

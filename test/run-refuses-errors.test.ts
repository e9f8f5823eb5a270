/**
 * `akts run` and `akts serve` refuse a project with error findings, as `akts build` does, printing the findings:
 * fixtures/pg-sync uses a pool client as a live object (AKTS2001); fixtures/sdk-findings has the errors of real SDK
 * shapes (a Linear getter of a journaled issue and undici's own Response, AKTS2001; AKTS1008; AKTS2004).
 */
import { expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { akts, CLI, ROOT, tempDir } from "./helpers";

/** `akts build`'s standard error for each fixture: built once for the run and the serve test. */
const builds = new Map<string, string>();

function buildStderr(fixture: string, manifest: string): string {
  let stderr = builds.get(fixture);
  if (stderr === undefined) {
    stderr = akts(["build", manifest, "-o", path.join(tempDir(`refuse-build-${fixture}`), "out")]).stderr;
    builds.set(fixture, stderr);
  }
  return stderr;
}

test.each([
  ["pg-sync", "run", ["--trigger", "nightly"], "AKTS2001", 3],
  ["pg-sync", "serve", ["--port", "0"], "AKTS2001", 3],
  ["sdk-findings", "run", ["--trigger", "report"], "AKTS2001", 4],
  ["sdk-findings", "serve", ["--port", "0"], "AKTS2001", 4],
])("fixtures/%s: akts %s prints the findings and exits 1, running nothing", (fixture, command, args, first, count) => {
  const manifest = path.join(ROOT, "fixtures", fixture, "autokitteh.yaml");
  const finding = new RegExp(`^fixtures/${fixture}/program\\.ts:\\d+:\\d+: error AKTS\\d+: `, "m");
  const store = path.join(tempDir(`refuse-${command}`), "store");
  // A serve that does not refuse would listen until killed: it gets a minute.
  const r = spawnSync(process.execPath, [CLI, command, manifest, ...args, "--store", store], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toMatch(finding);
  expect(r.stderr).toContain(`akts ${command}: error ${first}: the project has ${count} errors (above), so it is not run`);
  expect(r.stdout).not.toContain("listening");
  expect(fs.existsSync(path.join(ROOT, "fixtures", fixture, ".akts/cache")) && fs.readdirSync(path.join(ROOT, "fixtures", fixture, ".akts/cache")).length).toBeFalsy();
  // The same findings as akts build's.
  const build = buildStderr(fixture, manifest);
  expect(r.stderr.split("\n").filter((l) => finding.test(l))).toEqual(build.split("\n").filter((l) => finding.test(l)));
});

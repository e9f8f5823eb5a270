#!/usr/bin/env node
// The mutation smoke test CI runs (docs/testing.md): the built runtime gets one known mutant, a replayed sleep
// that waits its full time again instead of what was left of it, and the crash test of that promise must go red on
// it. The mutant is applied to dist/ (what the CLI under test runs) and always taken out again. Exit 0 only if the
// test failed, and failed on its own assertion. Needs `npm run build` first.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "dist", "runtime", "api.js");
const ORIGINAL = "deadline = recorded.deadline;";
const MUTANT = "deadline = Date.now() + ms;";
const TEST_FILE = "test/crash.test.ts";
const TEST = "a durable sleep cut by a crash waits only the remainder after resume";

const source = readFileSync(target, "utf8");
if (source.split(ORIGINAL).length !== 2) {
  console.error(`mutation smoke: \`${ORIGINAL}\` is not in ${target} exactly once: update the mutant to the sleep's code`);
  process.exit(1);
}

const out = mkdtempSync(join(tmpdir(), "akts-mutation-smoke-"));
let report;
writeFileSync(target, source.replace(ORIGINAL, MUTANT));
try {
  const reportFile = join(out, "report.json");
  const run = spawnSync(process.execPath, [join(root, "node_modules", "vitest", "vitest.mjs"), "run", TEST_FILE, "-t", TEST, "--reporter=json", `--outputFile=${reportFile}`], {
    cwd: root,
    encoding: "utf8",
  });
  if (run.status === null) throw new Error(`vitest ended by ${run.signal}`);
  report = JSON.parse(readFileSync(reportFile, "utf8"));
} finally {
  writeFileSync(target, source);
  rmSync(out, { recursive: true, force: true });
}

const results = report.testResults.flatMap((f) => f.assertionResults).filter((t) => t.title === TEST);
const failed = results.length === 1 && results[0].status === "failed" && results[0].failureMessages.some((m) => m.startsWith("AssertionError"));
if (!failed) {
  console.error(`mutation smoke: the mutant survived: "${TEST}" ${results.length === 1 ? results[0].status : "did not run"} with a replayed sleep waiting its full time`);
  process.exit(1);
}
console.log(`mutation smoke: the sleep-remainder mutant is killed by "${TEST}": ${results[0].failureMessages[0].split("\n")[0]}`);

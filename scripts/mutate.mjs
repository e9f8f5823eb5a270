#!/usr/bin/env node
// `npm run mutate [-- group ...]`: one Stryker run per group of runtime modules (scripts/mutation-groups.mjs), in turn; all
// groups when none is named. Reports and incremental results go to reports/mutation/ (docs/testing.md).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GROUPS } from "./mutation-groups.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const named = process.argv.slice(2);
const unknown = named.filter((g) => !GROUPS[g]);
if (unknown.length > 0) {
  console.error(`npm run mutate: no group ${unknown.join(", ")}; the groups are ${Object.keys(GROUPS).join(", ")}`);
  process.exit(2);
}
let failed = false;
for (const group of named.length > 0 ? named : Object.keys(GROUPS)) {
  console.log(`npm run mutate: group ${group} (${GROUPS[group].mutate.join(", ")})`);
  const run = spawnSync(process.execPath, [join(root, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js"), "run"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, AKTS_MUTATE_GROUP: group },
  });
  if (run.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);

// Builds dist/ when akts is installed from a folder or a git checkout that has none. It needs no dev tools:
// TypeScript is a dependency of akts, and without the type packages of a development install the sources are
// emitted without a type check (the checked build is `npm run build`). A tarball (npm pack) ships dist/ built.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
const devInstall = fs.existsSync(path.join(root, "node_modules", "@types", "node"));
const args = ["-p", path.join(root, "tsconfig.build.json"), ...(devInstall ? [] : ["--noCheck", "--types", ""])];
const r = spawnSync(process.execPath, [tsc, ...args], { stdio: "inherit" });
process.exit(r.status ?? 1);

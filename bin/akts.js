#!/usr/bin/env node
"use strict";
const fs = require("node:fs");
const path = require("node:path");

// A checkout installed as a folder runs from its dist/, which `npm run build` makes (a packed tarball ships it).
const cli = path.join(__dirname, "..", "dist", "cli", "cli.js");
if (!fs.existsSync(cli)) {
  process.stderr.write(`akts: error AKTS9004: akts is not built: no ${cli}\n  hint: run npm ci && npm run build in ${path.dirname(__dirname)}, or install a tarball made there by npm pack\n`);
  process.exit(1);
}
require(cli).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
);

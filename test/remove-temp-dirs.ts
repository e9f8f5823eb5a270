/**
 * Setup file of every test file: removes the folders tempDir made once the file is done, so a run does not leave
 * thousands of stores and projects in the system's temporary folder. Servers and CLI processes a file starts are
 * stopped by its own hooks, which run before this one.
 */
import * as fs from "node:fs";
import { afterAll } from "vitest";
import { madeDirs } from "./helpers";

afterAll(() => {
  for (const dir of madeDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

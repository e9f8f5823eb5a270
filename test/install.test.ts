/**
 * A new user's first hour, as they would go through it: akts packed into a tarball, `akts init`, `npm install`
 * (packages from the registry), `npm run check`, `npm test`, `npm run dev` and a webhook, `npm run build`, and
 * the bundle deployed (installed without TypeScript) and run. Once with the TypeScript `akts init` writes (6) and
 * once with the project on TypeScript 7, which has no JavaScript API: akts compiles with its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, ROOT, tempDir } from "./helpers";
import { killAll, signalGroup, startCli } from "./cli-process";

let tarball: string;

/** Runs `npm` in `cwd`; packages come from the registry, or the local cache when it has them. */
function npm(cwd: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync("npm", args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_prefer_offline: "true" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The akts a project installed, run as `npx akts` would find it (`node_modules/.bin`), without npx's own start-up:
 * what is tested is the installed akts, not npm's lookup.
 */
function installedAkts(cwd: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(path.join(cwd, "node_modules", ".bin", "akts"), args, { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let initialized: string | undefined;

/**
 * A project `akts init` wrote and `npm install` installed, made once for both tests below (installing its test
 * and type packages is most of the file's time): each test works on a copy.
 */
function initializedProject(): string {
  if (initialized) return initialized;
  const app = path.join(tempDir("first-hour-init"), "app");
  const init = akts(["init", app, "--akts", `file:${tarball}`]);
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toContain("next: ");
  const installed = npm(app, ["install"]);
  expect(installed.code, installed.stderr).toBe(0);
  initialized = app;
  return app;
}

beforeAll(() => {
  // dist/ is built by `npm test` (and `npm pack` would build it again through prepack).
  const dir = tempDir("pack");
  const r = spawnSync("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  tarball = path.join(dir, r.stdout.trim().split("\n").at(-1)!);
}, 120_000);

// Not afterEach: the two projects' tests run at the same time.
afterAll(killAll);

describe.concurrent.each([
  { typescript: "6", spec: undefined },
  { typescript: "7", spec: "^7.0.2" },
])("a fresh project on TypeScript $typescript", ({ typescript, spec }) => {
  test("akts init, npm install, check, test, dev with a webhook, build, and the bundle deployed", async () => {
    const home = tempDir(`first-hour-ts${typescript}`);
    const app = path.join(home, "app");
    // At the same depth as the original: the lockfile's relative path to the tarball still holds.
    fs.cpSync(initializedProject(), app, { recursive: true, verbatimSymlinks: true });
    if (spec) {
      // As a user does who takes the newest TypeScript (`npm i -D typescript`).
      const upgraded = npm(app, ["install", "--save-dev", `typescript@${spec}`]);
      expect(upgraded.code, upgraded.stderr).toBe(0);
    }
    const tsVersion = JSON.parse(fs.readFileSync(path.join(app, "node_modules", "typescript", "package.json"), "utf8")).version;
    expect(tsVersion.split(".")[0]).toBe(typescript);

    const check = npm(app, ["run", "--silent", "check"]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^handler\.ts:\d+:\d+: activity \(fetch\) fetch\n.*1 activity sites, 0 findings \(0 errors\)\n$/s);
    if (typescript === "7") expect(check.stderr).toMatch(new RegExp(`^akts check: note: this project's TypeScript ${tsVersion.replace(/\./g, "\\.")} has no JavaScript API, so tspc .* use akts build and akts check --watch`));
    else expect(check.stderr).toBe("");

    const unit = npm(app, ["test"]);
    expect(unit.code, unit.stdout + unit.stderr).toBe(0);
    expect(unit.stdout).toMatch(/2 passed/);

    // npm run dev, a webhook, the event it waits for.
    const dev = startCli(["run", "dev", "--", "--port", "0"], { cwd: app, command: ["npm"] });
    const [, url] = await dev.waitFor("stdout", /listening on (http:\/\/\S+)\n/, 180_000);
    const answer = await fetch(`${url}/webhooks/check_url`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: `${url}/webhooks/ping` }) });
    expect(answer.status).toBe(202);
    const { session_id: id } = (await answer.json()) as { session_id: string };
    await dev.waitFor("stderr", new RegExp(`session ${id} started \\(check_url, durable\\)`));
    const until = Date.now() + 60_000;
    let delivered = installedAkts(app, ["event", id, "approval", "--data", '{"approved":true}', "--manifest", "autokitteh.yaml"]);
    // The session may still be before its wait (the first request compiles the project): delivery queues either way.
    expect(delivered.code, delivered.stderr).toBe(0);
    await dev.waitFor("stderr", new RegExp(`session ${id} completed after \\d+ ms`), Math.max(1, until - Date.now()));
    const journal = installedAkts(app, ["journal", id, "--manifest", "autokitteh.yaml", "--json"]);
    const end = JSON.parse(journal.stdout).at(-1);
    expect(end).toMatchObject({ t: "end", ok: true, result: { url: `${url}/webhooks/ping`, status: 200, approved: true } });
    const replay = installedAkts(app, ["replay", id, "--manifest", "autokitteh.yaml"]);
    expect(replay.stdout).toBe(`${id}: replays cleanly (1 activity, result matches)\n`);
    signalGroup(dev.child, "SIGTERM");
    await dev.exited;

    // npm run build, then the bundle deployed on its own, without TypeScript.
    const build = npm(app, ["run", "--silent", "build"]);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/^dist: 1 module, 3 handlers, 1 activity site \(app, akts \d/);
    // Deployed at the same depth beside the project: the bundle's relative file: spec still reaches the tarball.
    const deployed = path.join(home, "deploy", "dist");
    fs.cpSync(path.join(app, "dist"), deployed, { recursive: true });
    const bundlePkg = JSON.parse(fs.readFileSync(path.join(deployed, "package.json"), "utf8"));
    expect(bundlePkg.dependencies.akts).toBe(`file:${path.relative(path.join(app, "dist"), tarball)}`);
    const deploy = npm(deployed, ["install", "--omit=optional"]);
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(fs.existsSync(path.join(deployed, "node_modules", "typescript"))).toBe(false);
    const ran = installedAkts(deployed, ["run", ".", "--trigger", "ping"]);
    expect([ran.code, JSON.parse(ran.stdout)], ran.stderr).toEqual([0, { session_id: expect.stringMatching(/^ses_/), status: "completed", result: { pong: true } }]);
  }, 900_000);
});

describe("akts from a folder", () => {
  test("a built checkout installs as a link, with no install script, and runs", () => {
    const app = tempDir("folder-install");
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true }));
    const installed = npm(app, ["install", "--offline", ROOT]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stderr).not.toContain("install-scripts");
    expect(fs.realpathSync(path.join(app, "node_modules", "akts"))).toBe(fs.realpathSync(ROOT));
    const version = installedAkts(app, ["--version"]);
    expect([version.code, version.stdout]).toEqual([0, `${JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version}\n`]);
  });

  test("a checkout that was not built says so in one line", () => {
    const checkout = tempDir("unbuilt");
    fs.cpSync(path.join(ROOT, "bin"), path.join(checkout, "bin"), { recursive: true });
    const r = spawnSync(process.execPath, [path.join(checkout, "bin", "akts.js"), "--version"], { encoding: "utf8" });
    expect([r.status, r.stdout]).toEqual([1, ""]);
    expect(r.stderr).toBe(`akts: error AKTS9004: akts is not built: no ${path.join(checkout, "dist", "cli", "cli.js")}\n  hint: run npm ci && npm run build in ${checkout}, or install a tarball made there by npm pack\n`);
  });
});

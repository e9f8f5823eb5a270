/**
 * What a new user sees from the CLI (issue: a new user's first hour): help per command, one kind of usage error,
 * `akts run`'s progress and interruption, `akts event` on a finished session, `sessions --json`, and
 * `akts serve`'s access log and session lines.
 */
import { afterEach, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, copyFixture, repoTempDir, ROOT, tempDir } from "./helpers";
import { killAll, startCli } from "./cli-process";

const MANIFEST = path.join(ROOT, "fixtures/first-hour/autokitteh.yaml");
const COMMANDS = ["init", "check", "build", "run", "resume", "serve", "event", "sessions", "journal", "replay"];

afterEach(killAll);

describe("help and usage errors", () => {
  test.each(COMMANDS)("akts %s --help describes every option, with defaults and an example", (command) => {
    const r = akts([command, "--help"]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toMatch(new RegExp(`^usage: akts ${command} .*\\n\\n.+\\.\\n\\noptions:\\n(  \\S.*\\n)+\\nexamples:\\n(  akts .*\\n)+$`));
    // Every option named on the usage line is described below it.
    const named = [...r.stdout.split("\n")[0].matchAll(/--[a-z-]+/g)].map((m) => m[0]);
    const described = r.stdout.split("options:")[1];
    for (const option of named) expect(described).toContain(option);
  });

  test.each(COMMANDS)("akts %s --bogus exits 2 with one prefix", (command) => {
    const r = akts([command, "--bogus"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, "", `akts ${command}: error AKTS9001: unknown option '--bogus' (akts ${command} --help lists them)\n`]);
  });

  test("a missing argument, a bad value and an unknown command exit 2 too", () => {
    expect(akts(["run", MANIFEST])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^akts run: error AKTS9001: usage: akts run <manifest/) });
    expect(akts(["serve", MANIFEST, "--log", "xml"])).toMatchObject({ code: 2, stderr: "akts serve: error AKTS9001: unknown --log 'xml' (use text, json)\n" });
    expect(akts(["run", MANIFEST, "--trigger", "nope"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^akts run: error AKTS9001: no trigger 'nope'/) });
    expect(akts(["lanch"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^akts: error AKTS9001: unknown command 'lanch'\n/) });
  });
});

describe("akts run tells what happens", () => {
  test("the session id at the start, --verbose lines, and the command that delivers the awaited event", async () => {
    const store = path.join(tempDir("progress"), "store");
    const run = startCli(["run", MANIFEST, "--trigger", "waits", "--store", store, "--verbose"]);
    const [, id] = await run.waitFor("stderr", /^akts run: session (ses_\w+) started \(first_hour\/waits, durable\)\n/);
    await run.waitFor("stderr", /akts run: #1 stamp at program\.ts:\d+:\d+: ok \(\d+ ms\)\n/);
    const [, command] = await run.waitFor("stderr", /akts run: session \w+ waits for event 'go'; deliver it with: (akts event .*)\n/);
    expect(command).toBe(`akts event ${id} go --data '<json>' --store ${store}`);
    const args = command.split(" ").slice(1).map((a) => (a === "'<json>'" ? '{"n":7}' : a));
    expect(akts(args)).toMatchObject({ code: 0, stdout: expect.stringContaining(`{"session_id":"${id}","event_id":`) });
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(run.stdout())).toEqual({ session_id: id, status: "completed", result: { before: true, n: 7, after: true } });
    expect(run.stderr()).toMatch(/#2 event 'go' received\n.*#3 stamp at program\.ts:\d+:\d+: ok/s);
  });

  test("without --verbose only the start and the wait are told; the default store is named by --manifest", async () => {
    const run = startCli(["run", MANIFEST, "--trigger", "waits"], { env: { AKTS_STORE: "" } });
    const [, id] = await run.waitFor("stderr", /session (ses_\w+) started/);
    const [, command] = await run.waitFor("stderr", /deliver it with: (akts event .*)\n/);
    expect(command).toBe(`akts event ${id} go --data '<json>' --manifest ${MANIFEST}`);
    expect(run.stderr()).not.toContain("#1");
    run.child.kill("SIGKILL");
    await run.exited;
  });

  test("SIGINT says what the store kept and how to finish it; exit 130", async () => {
    const dir = tempDir("sigint");
    const store = path.join(dir, "store");
    // Long enough to be interrupted inside the sleep on a loaded machine; short, as the resume below sleeps what is left.
    const ms = 5_000;
    fs.writeFileSync(path.join(dir, "event.json"), JSON.stringify({ body: { json: { ms } } }));
    const run = startCli(["run", MANIFEST, "--trigger", "slow", "--store", store, "--verbose", "--event", path.join(dir, "event.json")]);
    const [, id] = await run.waitFor("stderr", /session (ses_\w+) started/);
    const [, until] = await run.waitFor("stderr", /#2 sleeping until (\S+)\n/);
    // The handler read the duration from the event (an event it cannot read sleeps its one-minute default).
    expect(Date.parse(until) - Date.now()).toBeLessThanOrEqual(ms);
    run.child.kill("SIGINT");
    expect(await run.exited).toEqual({ code: 130, signal: null });
    expect(run.stderr()).toContain(
      `akts run: interrupted; session ${id} is unfinished in the store: its journal keeps 1 activity; \`akts resume --manifest ${MANIFEST} --store ${store}\` replays them and goes on\n`,
    );
    // Unfinished; whether its summary already says `waiting` depends on how far the sleep got before the interrupt.
    expect(JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout)).toEqual([expect.objectContaining({ session_id: id, status: expect.stringMatching(/^(running|waiting)$/) })]);
    const resumed = akts(["resume", "--manifest", MANIFEST, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
  });
});

describe("akts event and sessions --json", () => {
  test("a finished session takes no event (AKTS7006, as over HTTP); an unknown one is AKTS7003", async () => {
    const store = path.join(tempDir("event"), "store");
    const done = akts(["run", MANIFEST, "--trigger", "lossy", "--store", store]);
    const { session_id: id } = JSON.parse(done.stdout);
    expect(akts(["event", id, "go", "--store", store])).toMatchObject({ code: 1, stdout: "", stderr: `akts event: error AKTS7006: session ${id} is completed: it takes no more events\n` });
    const unknown = "ses_01M97000000000000000000000";
    expect(akts(["event", unknown, "go", "--store", store])).toMatchObject({ code: 1, stderr: `akts event: error AKTS7003: no session ${unknown} in ${store}\n` });
    expect(JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout)).toEqual([expect.objectContaining({ session_id: id, status: "completed" })]);
  });
});

describe("akts serve shows what it does", () => {
  const serve = async (extra: string[]) => {
    const store = path.join(tempDir("serve-log"), "store");
    const s = startCli(["serve", MANIFEST, "--port", "0", "--store", store, ...extra]);
    const [, url] = await s.waitFor("stdout", /listening on (http:\/\/\S+)\n/);
    return { s, url };
  };

  test("--log text: an access line per request, a line per session start and end, AKTS2003 once per site", async () => {
    const { s, url } = await serve([]);
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/webhooks/lossy`, { method: "POST" })).status).toBe(200);
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    await s.waitFor("stderr", /GET \/nowhere 404/);
    const lines = s.stderr().split("\n");
    expect(lines.filter((l) => /^akts serve: session ses_\w+ started \(lossy, durable\)$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /^akts serve: session ses_\w+ completed after \d+ ms$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /^akts serve: 127\.0\.0\.1 POST \/webhooks\/lossy 200 [\d.]+ ms$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => l.includes("AKTS2003"))).toHaveLength(1);
  });

  test("a failed session is logged once, with its error", async () => {
    const { s, url } = await serve([]);
    const answer = await fetch(`${url}/webhooks/breaks`, { method: "POST" });
    expect(answer.status).toBe(202);
    const { session_id: id } = (await answer.json()) as { session_id: string };
    await s.waitFor("stderr", new RegExp(`session ${id} failed after \\d+ ms: AKTS6001 .*the handler gave up\n`));
    expect(s.stderr().split("\n").filter((l) => l.includes(id) && l.includes("failed"))).toHaveLength(1);
  });

  test("akts worker writes the same session lines as it resumes a session", async () => {
    const store = path.join(tempDir("worker-log"), "store");
    const waiting = startCli(["run", MANIFEST, "--trigger", "waits", "--store", store]);
    const [, id] = await waiting.waitFor("stderr", /session (ses_\w+) waits for event 'go'/);
    waiting.child.kill("SIGKILL");
    await waiting.exited;
    expect(akts(["event", id, "go", "--data", '{"n":1}', "--store", store]).code).toBe(0);
    const worker = startCli(["worker", MANIFEST, "--store", store], { env: { AKTS_LEASE_TTL_MS: "1000" } });
    await worker.waitFor("stderr", new RegExp(`^akts worker: session ${id} resumed\nakts worker: session ${id} completed after \\d+ ms\n`, "m"));
  });

  test("--log json: one JSON object a line", async () => {
    const { s, url } = await serve(["--log", "json"]);
    expect((await fetch(`${url}/webhooks/lossy`, { method: "POST" })).status).toBe(200);
    await s.waitFor("stderr", /"type":"access"/);
    const records = s
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    expect(records).toEqual(
      expect.arrayContaining([
        { time: expect.any(String), type: "session", session_id: expect.stringMatching(/^ses_/), event: "started", trigger: "lossy", mode: "durable" },
        { time: expect.any(String), type: "session", session_id: expect.stringMatching(/^ses_/), event: "completed", ms: expect.any(Number) },
        { time: expect.any(String), type: "access", method: "POST", path: "/webhooks/lossy", status: 200, ms: expect.any(Number), remote: "127.0.0.1" },
      ]),
    );
  });
});

describe("akts check --watch", () => {
  test("re-reports on every save", async () => {
    const dir = copyFixture("first-hour", tempDir("watch"));
    const watch = startCli(["check", "--watch", "-p", path.join(dir, "tsconfig.json")]);
    await watch.waitFor("stdout", /activity sites, \d+ findings \(0 errors\)\n.*watching for changes/, 60_000);
    expect(watch.stdout()).not.toContain("AKTS1002");
    fs.appendFileSync(path.join(dir, "program.ts"), "\nexport async function late() {\n  setTimeout(() => {}, 5);\n}\n");
    await watch.waitFor("stdout", /program\.ts:\d+:3: warning AKTS1002: setTimeout/, 60_000);
    fs.appendFileSync(path.join(dir, "program.ts"), "\nexport const broken: number = 'text';\n");
    await watch.waitFor("stdout", /error AKTS9003: TS2322: .*\n.*\(1 errors\)/, 60_000);
    expect(watch.child.exitCode).toBe(null);
  }, 240_000);
});

describe("akts init", () => {
  test("writes a project that checks clean under strict; a folder with files is refused unless --force, which keeps them", () => {
    const dir = path.join(repoTempDir("init"), "my-app");
    const r = akts(["init", dir]);
    expect(r.code, r.stderr).toBe(0);
    const files = ["package.json", "tsconfig.json", "autokitteh.yaml", "handler.ts", "handler.test.ts", ".gitignore"];
    expect(r.stdout).toBe(`${files.map((f) => `created ${path.relative(ROOT, path.join(dir, f))}\n`).join("")}\nnext: cd ${path.relative(ROOT, dir)} && npm install && npm run dev\n`);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    expect(pkg).toMatchObject({ name: "my-app", type: "module", scripts: { check: expect.any(String), dev: "akts serve autokitteh.yaml", build: expect.any(String) }, dependencies: { akts: `file:${path.relative(dir, ROOT)}` } });
    expect(fs.readFileSync(path.join(dir, "autokitteh.yaml"), "utf8")).toMatch(/name: my_app\n[\s\S]*type: webhook[\s\S]*schedule: /);
    // Checked with akts's own types in place of the installed package.
    const tsconfig = JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8"));
    tsconfig.compilerOptions.paths = { akts: [path.join(ROOT, "dist/runtime/index.d.ts")] };
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
    const check = akts(["check", "-p", path.join(dir, "tsconfig.json"), "--manifest", path.join(dir, "autokitteh.yaml")]);
    expect([check.code, check.stderr]).toEqual([0, ""]);
    expect(check.stdout).toMatch(/handler\.ts:\d+:\d+: activity \(fetch\) fetch\n1 activity sites, 0 findings \(0 errors\)\n$/);

    fs.writeFileSync(path.join(dir, "handler.ts"), "// mine\n");
    fs.rmSync(path.join(dir, ".gitignore"));
    expect(akts(["init", dir])).toMatchObject({ code: 1, stderr: expect.stringContaining("error AKTS9011: ") });
    const forced = akts(["init", dir, "--force"]);
    expect(forced.stdout).toContain(`kept    ${path.relative(ROOT, path.join(dir, "handler.ts"))} (it exists)\n`);
    expect(forced.stdout).toContain(`created ${path.relative(ROOT, path.join(dir, ".gitignore"))}\n`);
    expect(fs.readFileSync(path.join(dir, "handler.ts"), "utf8")).toBe("// mine\n");
    expect(fs.existsSync(path.join(dir, ".gitignore"))).toBe(true);
  });
});

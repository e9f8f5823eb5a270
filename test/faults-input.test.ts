/**
 * Fault injection, hostile input: journals whose header names code of its own (another manifest, another project)
 * are never the code `akts resume` and `akts replay` run, and JSON nested past the documented limit is a clear 400
 * with nothing left behind.
 */
import { beforeAll, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, copyFixture, killWhenLines, lines, tempDir } from "./helpers";
import { admin, adminToken, MANIFEST, report, start, stepsBody, until } from "./faults-harness";

/** Where the crafted project's module-level code leaves its mark: if this file ever has a line, a journal chose code. */
let marker: string;
let crafted: { store: string; byName: string; byProject: string };

/**
 * A copy of fixtures/serve whose module, when imported, appends to the marker, with a second manifest naming the
 * same code project "evil". Sessions run from it and SIGKILLed mid-run leave journals whose headers name those
 * manifests.
 */
function craftedProject(dir: string): { serve: string; evil: string; project: string } {
  const project = copyFixture("serve", dir);
  const program = path.join(project, "program.ts");
  fs.writeFileSync(program, `import { appendFileSync as mark } from "node:fs";\nmark(${JSON.stringify(marker)}, "crafted code ran\\n");\n${fs.readFileSync(program, "utf8")}`);
  const serve = path.join(project, "autokitteh.yaml");
  const evil = path.join(project, "evil.yaml");
  fs.writeFileSync(evil, fs.readFileSync(serve, "utf8").replace("name: serve", "name: evil"));
  return { serve, evil, project };
}

async function craftedSession(dir: string, store: string, manifest: string, tag: string): Promise<string> {
  const log = path.join(dir, "log");
  const event = path.join(dir, `${tag}.json`);
  fs.writeFileSync(event, JSON.stringify({ body: { json: stepsBody(log, tag, { steps: 6, ms: 200 }) } }));
  const before = new Set(JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout || "[]").map((s: any) => s.session_id));
  const { killed } = await killWhenLines(["run", manifest, "--trigger", "steps", "--event", event, "--store", store], log, lines(log).length + 1);
  expect(killed).toBe(true);
  return JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout).find((s: any) => !before.has(s.session_id)).session_id;
}

let project: string;

beforeAll(async () => {
  const dir = tempDir("faults-crafted");
  marker = path.join(dir, "marker");
  const store = path.join(dir, "store");
  const manifests = craftedProject(dir);
  project = manifests.project;
  crafted = { store, byName: await craftedSession(dir, store, manifests.serve, "a"), byProject: await craftedSession(dir, store, manifests.evil, "b") };
  // Running the crafted sessions ran their code, of course; from here on nothing may.
  fs.rmSync(marker);
}, 120_000);

test("the project's .akts/, its compile cache and the store are created 0700", () => {
  for (const folder of [path.join(project, ".akts"), path.join(project, ".akts", "cache"), crafted.store]) {
    expect((fs.statSync(folder).mode & 0o777).toString(8)).toBe("700");
  }
});

test("crafted journals run none of their code: resume and replay run only the named project, and refuse another", () => {
  const { store, byName, byProject } = crafted;
  // Without a target there is nothing to run: refused before anything is loaded.
  const bare = akts(["resume", "--store", store]);
  expect(bare.code).toBe(1);
  expect(bare.stderr).toMatch(/^akts resume: error AKTS9007: akts runs only code you name, never the code a journal names/);
  const replayBare = akts(["replay", byName, "--store", store]);
  expect(replayBare.code).toBe(1);
  expect(replayBare.stdout).toMatch(new RegExp(`^${byName}: error AKTS9007: `));
  // Another project's session is refused by replay and skipped by resume, untouched.
  const replayOther = akts(["replay", byProject, "--store", store, "--manifest", MANIFEST]);
  expect(replayOther.code).toBe(1);
  expect(replayOther.stdout).toContain(`${byProject}: error AKTS9007: session ${byProject} belongs to project 'evil', not 'serve' of ${MANIFEST}: refused`);
  // The session of the same project name is finished with the named project's code, not the one its header names.
  const resumed = akts(["resume", "--manifest", MANIFEST, "--store", store]);
  expect(resumed.code, resumed.stderr).toBe(0);
  const out = resumed.stdout.trim().split("\n").map((l) => JSON.parse(l));
  expect(out).toContainEqual(expect.objectContaining({ action: "resumed", session_id: byName, status: "completed" }));
  expect(out).toContainEqual(expect.objectContaining({ action: "skipped", session_id: byProject, reason: `belongs to project 'evil', not 'serve' of ${MANIFEST}` }));
  const sessions = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout);
  expect(sessions.find((s: any) => s.session_id === byProject).status).toBe("running");
  expect(resumed.stderr).not.toMatch(/\n\s+at /);
  const ran = lines(marker).length;
  report({ scenario: "crafted journals", accepted: 2, completed: 1, lost: 0, failed: 0, rerun: 0, journalCode: ran });
  expect(ran).toBe(0);
});

test("JSON nested past 512 levels is 400 AKTS7015 on async, sync and event routes, with no stack and no session", async () => {
  const dir = tempDir("faults-deep");
  const store = path.join(dir, "store");
  const s = await start("serve", store);
  const token = adminToken(store);
  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
  const post = (route: string, body: string, auth = false) =>
    fetch(`${s.url}${route}`, { method: "POST", headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${token}` } : {}) }, body });
  let refused = 0;
  for (const depth of [513, 1500, 5000, 100_000]) {
    for (const route of ["/webhooks/steps", "/webhooks/echo"]) {
      const res = await post(route, nested(depth));
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { code: "AKTS7015", message: `JSON body nests ${depth} levels deep; the limit is 512` } });
      refused++;
    }
  }
  expect((await admin(s.url!, token, "/sessions")).sessions).toEqual([]);
  // At the limit, the sync webhook's session runs and answers.
  const atLimit = await post("/webhooks/echo", nested(512));
  expect(atLimit.status).toBe(200);
  const accepted = await post("/webhooks/steps", JSON.stringify(stepsBody(path.join(dir, "log"), "deep", { steps: 0 })));
  const { session_id } = (await accepted.json()) as { session_id: string };
  const event = await post(`/sessions/${session_id}/events/approval`, nested(600), true);
  expect(event.status).toBe(400);
  expect(((await event.json()) as any).error.code).toBe("AKTS7015");
  await until("the accepted session to complete", async () => ((await admin(s.url!, token, `/sessions/${session_id}`)).status === "completed" ? true : undefined));
  expect(s.output()).not.toMatch(/RangeError|\n\s+at /);
  report({ scenario: "deep JSON: 8 refused, 2 at the limit accepted", accepted: 2, completed: 2, lost: 0, failed: 0, rerun: 0 });
  expect(refused).toBe(8);
});

/**
 * Versions under `akts serve` (docs/versioning.md): bundles and source runs record the same fingerprint; with
 * `--keep-versions` a session recorded on other code resumes on the version it started on, kept in the store;
 * without it, such a session fails with the divergence report. One project, its code changed twice.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, copyFixture, tempDir } from "./helpers";
import { killAll, signalGroup, startCli } from "./cli-process";

let dir: string;
let project: string;
let manifest: string;
let store: string;
const env = { AKTS_LEASE_TTL_MS: "3000" };

function header(id: string): { fingerprint: string } {
  return JSON.parse(akts(["journal", id, "--store", store, "--json"]).stdout)[0];
}

/** A session of the current code stopped (SIGKILL) while it waits for "go" inside the loop, the event then delivered. */
async function waiting(): Promise<string> {
  const event = path.join(dir, "stop2.json");
  fs.writeFileSync(event, JSON.stringify({ n: 1, stop: 2 }));
  const p = startCli(["run", manifest, "--trigger", "order", "--event", event, "--store", store]);
  const id = (await p.waitFor("stderr", /session (ses_\w+) waits for event 'go'/, 120_000))[1];
  signalGroup(p.child, "SIGKILL");
  await p.exited;
  expect(akts(["event", id, "go", "--data", "{}", "--store", store]).code).toBe(0);
  return id;
}

/** Serves the project until `ids` have ended; returns their summaries and what the server logged. */
async function serveUntilEnded(ids: string[], flags: string[]): Promise<{ sessions: Record<string, { status: string; error?: string }>; log: string }> {
  const p = startCli(["serve", manifest, "--port", "0", "--store", store, ...flags], { env });
  await p.waitFor("stdout", /listening on/, 120_000);
  const until = Date.now() + 60_000;
  for (;;) {
    const list = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout) as { session_id: string; status: string; error?: string }[];
    const ended = list.filter((s) => ids.includes(s.session_id) && !["running", "waiting"].includes(s.status));
    if (ended.length === ids.length) {
      signalGroup(p.child, "SIGKILL");
      await p.exited;
      return { sessions: Object.fromEntries(ended.map((s) => [s.session_id, s])), log: p.stderr() };
    }
    if (Date.now() > until) throw new Error(`sessions did not end:\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function change(from: string, to: string): void {
  const flow = path.join(project, "flow.ts");
  const source = fs.readFileSync(flow, "utf8");
  expect(source).toContain(from);
  fs.writeFileSync(flow, source.replace(from, to));
}

beforeAll(() => {
  dir = tempDir("versioning-serve");
  project = copyFixture("versioning", dir);
  manifest = path.join(project, "autokitteh.yaml");
  store = path.join(dir, "store");
});

afterAll(killAll);

test("a bundle records the fingerprint a source run records", () => {
  const event = path.join(dir, "stop0.json");
  fs.writeFileSync(event, JSON.stringify({ n: 1, stop: 0 }));
  const r = akts(["run", manifest, "--trigger", "order", "--event", event, "--store", store]);
  expect(r.code, r.stderr).toBe(0);
  const bundle = path.join(dir, "bundle");
  expect(akts(["build", manifest, "-o", bundle]).code).toBe(0);
  const info = JSON.parse(fs.readFileSync(path.join(bundle, "akts-bundle.json"), "utf8"));
  expect(header(JSON.parse(r.stdout).session_id).fingerprint).toBe(info.fingerprint);
}, 180_000);

test("--keep-versions resumes a session on the code it started on; without it, the session fails with the divergence", async () => {
  // A server with --keep-versions keeps the code it runs, even when it only starts.
  const first = startCli(["serve", manifest, "--port", "0", "--store", store, "--keep-versions"], { env });
  await first.waitFor("stdout", /listening on/, 120_000);
  signalGroup(first.child, "SIGKILL");
  await first.exited;
  const kept = await waiting();
  const old = header(kept).fingerprint;
  expect(fs.existsSync(path.join(store, "versions", old, "version.json"))).toBe(true);

  // Reordered: the session's journal has validate, reserve, ship; the new code calls reserve first.
  change("  let n = await validate(start);\n  if (stop === 1) await nextEvent(\"go\");\n  n = await reserve(n);", "  let n = await reserve(start);\n  if (stop === 1) await nextEvent(\"go\");\n  n = await validate(n);");
  const pinned = await serveUntilEnded([kept], ["--keep-versions"]);
  expect(pinned.sessions[kept].status, pinned.log).toBe("completed");
  expect(pinned.log).toContain(`session ${kept} started on code ${old}: it resumes on that kept version`);
  const current = fs.readdirSync(path.join(store, "versions")).filter((f) => f !== old);
  expect(current).toHaveLength(1);

  // Recorded on this code, then the code changes again, served without --keep-versions: it fails, saying where.
  const diverging = await waiting();
  change("const ship = ", "const dispatch = ");
  change("await ship(n)", "await dispatch(n)");
  const plain = await serveUntilEnded([diverging], []);
  expect(plain.sessions[diverging].status).toBe("failed");
  expect(plain.sessions[diverging].error).toMatch(/entry #\d+: journal has ship at flow\.ts:\d+:\d+, code called dispatch at flow\.ts:\d+:\d+/);
  expect(fs.readdirSync(path.join(store, "versions"))).toHaveLength(2);
}, 400_000);

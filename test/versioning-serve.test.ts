/**
 * Versions under `akts serve` (docs/versioning.md): bundles and source runs record the same fingerprint; with
 * `--keep-versions` a session recorded on other code resumes on the version it started on, kept in the store;
 * without it, such a session fails with the divergence report. One project, its code changed twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, copyFixture, tempDir } from "./helpers";
import { killAll, signalGroup, startCli } from "./cli-process";
import { precompile } from "./program-host";
import { startPgServer, type PgServer } from "./pg-server";

/** A copy of the project and the store its sessions are in (a folder, or a PostgreSQL database). */
interface Setup {
  readonly dir: string;
  readonly project: string;
  readonly manifest: string;
  readonly store: string;
}

const env = { AKTS_LEASE_TTL_MS: "3000" };
let pg: PgServer | undefined;

function setup(name: string, store?: string): Setup {
  const dir = tempDir(`versioning-serve-${name}`);
  const project = copyFixture("versioning", dir);
  return { dir, project, manifest: path.join(project, "autokitteh.yaml"), store: store ?? path.join(dir, "store") };
}

function header(s: Setup, id: string): { fingerprint: string } {
  return JSON.parse(akts(["journal", id, "--store", s.store, "--json"]).stdout)[0];
}

/** A session of the current code stopped (SIGKILL) while it waits for "go" inside the loop, the event then delivered. */
async function waiting(s: Setup): Promise<string> {
  const event = path.join(s.dir, "stop2.json");
  fs.writeFileSync(event, JSON.stringify({ n: 1, stop: 2 }));
  const p = startCli(["run", s.manifest, "--trigger", "order", "--event", event, "--store", s.store]);
  const id = (await p.waitFor("stderr", /session (ses_\w+) waits for event 'go'/, 120_000))[1];
  signalGroup(p.child, "SIGKILL");
  await p.exited;
  expect(akts(["event", id, "go", "--data", "{}", "--store", s.store]).code).toBe(0);
  return id;
}

/**
 * Serves the project until `ids` have ended (polled over HTTP); returns their summaries and what the server logged.
 * The code is compiled in this process first (the bundle test compiles through `akts run` itself).
 */
async function serveUntilEnded(s: Setup, ids: string[], flags: string[]): Promise<{ sessions: Record<string, { status: string; error?: string }>; log: string }> {
  await precompile(s.project);
  const p = startCli(["serve", s.manifest, "--port", "0", "--store", s.store, ...flags], { env });
  const url = (await p.waitFor("stdout", /listening on (http:\/\/\S+)/, 120_000))[1];
  const token = fs.readFileSync(path.join(/^postgres/.test(s.store) ? path.join(s.project, ".akts") : s.store, "admin-token"), "utf8").trim();
  const until = Date.now() + 60_000;
  for (;;) {
    const list = (await (await fetch(`${url}/sessions?limit=1000`, { headers: { authorization: `Bearer ${token}` } })).json()).sessions as { session_id: string; status: string; error?: string }[];
    const ended = list.filter((x) => ids.includes(x.session_id) && !["running", "waiting"].includes(x.status));
    if (ended.length === ids.length) {
      signalGroup(p.child, "SIGKILL");
      await p.exited;
      return { sessions: Object.fromEntries(ended.map((x) => [x.session_id, x])), log: p.stderr() };
    }
    if (Date.now() > until) throw new Error(`sessions did not end:\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function change(s: Setup, from: string, to: string): void {
  const flow = path.join(s.project, "flow.ts");
  const source = fs.readFileSync(flow, "utf8");
  expect(source).toContain(from);
  fs.writeFileSync(flow, source.replace(from, to));
}

/** Where the store keeps versions as folders: in itself, or (a database) unpacked beside the project. */
function versionsDir(s: Setup): string {
  return /^postgres/.test(s.store) ? path.join(s.project, ".akts", "versions") : path.join(s.store, "versions");
}

beforeAll(async () => {
  pg = await startPgServer();
}, 180_000);

afterAll(() => {
  killAll();
  pg?.stop();
});

test("a bundle records the fingerprint a source run records", () => {
  const s = setup("bundle");
  const event = path.join(s.dir, "stop0.json");
  fs.writeFileSync(event, JSON.stringify({ n: 1, stop: 0 }));
  const r = akts(["run", s.manifest, "--trigger", "order", "--event", event, "--store", s.store]);
  expect(r.code, r.stderr).toBe(0);
  const bundle = path.join(s.dir, "bundle");
  expect(akts(["build", s.manifest, "-o", bundle]).code).toBe(0);
  const info = JSON.parse(fs.readFileSync(path.join(bundle, "akts-bundle.json"), "utf8"));
  expect(header(s, JSON.parse(r.stdout).session_id).fingerprint).toBe(info.fingerprint);
}, 180_000);

describe.each(["file", "postgres"])("%s store", (kind) => {
  test("--keep-versions resumes a session on the code it started on; without it, the session fails with the divergence", async () => {
    const s = setup(kind, kind === "postgres" ? await pg!.createDatabase(`versions_${process.pid}`) : undefined);
    // A server with --keep-versions keeps the code it runs, even when it only starts.
    await precompile(s.project);
    const first = startCli(["serve", s.manifest, "--port", "0", "--store", s.store, "--keep-versions"], { env });
    await first.waitFor("stdout", /listening on/, 120_000);
    signalGroup(first.child, "SIGKILL");
    await first.exited;
    const kept = await waiting(s);
    const old = header(s, kept).fingerprint;
    // A database keeps it in a row; a folder store in its own folder.
    expect(fs.existsSync(path.join(versionsDir(s), old, "version.json"))).toBe(kind === "file");

    // Reordered: the session's journal has validate, reserve, ship; the new code calls reserve first.
    change(s, "  let n = await validate(start);\n  if (stop === 1) await nextEvent(\"go\");\n  n = await reserve(n);", "  let n = await reserve(start);\n  if (stop === 1) await nextEvent(\"go\");\n  n = await validate(n);");
    const pinned = await serveUntilEnded(s, [kept], ["--keep-versions"]);
    expect(pinned.sessions[kept].status, pinned.log).toBe("completed");
    expect(pinned.log).toContain(`session ${kept} started on code ${old}: it resumes on that kept version`);
    // A database's version was unpacked from its row to run.
    expect(fs.existsSync(path.join(versionsDir(s), old, "version.json"))).toBe(true);

    // Recorded on this code, then the code changes again, served without --keep-versions: it fails, saying where.
    const diverging = await waiting(s);
    change(s, "const ship = ", "const dispatch = ");
    change(s, "await ship(n)", "await dispatch(n)");
    const plain = await serveUntilEnded(s, [diverging], []);
    expect(plain.sessions[diverging].status).toBe("failed");
    expect(plain.sessions[diverging].error).toMatch(/entry #\d+: journal has ship at flow\.ts:\d+:\d+, code called dispatch at flow\.ts:\d+:\d+/);
  }, 400_000);
});

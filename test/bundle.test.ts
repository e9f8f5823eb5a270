/**
 * `akts build` and running its bundle: the bundle is copied to a folder outside the repository whose
 * node_modules holds akts (its package.json, bin and dist only) and the runtime's dependencies, not TypeScript,
 * and runs, crashes and resumes there.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, killWhenLines, lines, ROOT, RUN_STARTED, tempDir } from "./helpers";
import { sessionEntries } from "./segments";

const CRASH = path.join(ROOT, "fixtures/crash/autokitteh.yaml");
const ORDER = path.join(ROOT, "fixtures/order/autokitteh.yaml");
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

let deploy: string;
let bundle: string;
let orderBundle: string;
let cli: string;

function lastJson(stdout: string): any {
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

function stepsEvent(dir: string, pauseMs: number): string {
  const file = path.join(dir, `event-${pauseMs}.json`);
  fs.writeFileSync(file, JSON.stringify({ log: path.join(dir, "log"), steps: 3, pauseMs }));
  return file;
}

/**
 * A deployment folder: the crash fixture's bundle under `app/dist`, the order fixture's under `app/order`, akts and
 * its runtime dependencies (not TypeScript) in node_modules.
 */
function deployment(): { dir: string; bundle: string; orderBundle: string; cli: string } {
  const dir = tempDir("deploy");
  fs.mkdirSync(path.join(dir, "app"));
  for (const [manifest, name] of [[CRASH, "dist"], [ORDER, "order"]]) {
    const built = akts(["build", manifest, "-o", path.join(dir, "build", name)]);
    expect(built.stderr).toBe("");
    expect(built.code).toBe(0);
    fs.cpSync(path.join(dir, "build", name), path.join(dir, "app", name), { recursive: true });
  }
  const modules = path.join(dir, "node_modules");
  const own = path.join(modules, "akts");
  fs.mkdirSync(own, { recursive: true });
  for (const part of ["package.json", "bin", "dist"]) fs.cpSync(path.join(ROOT, part), path.join(own, part), { recursive: true });
  for (const dep of Object.keys(PKG.dependencies)) {
    fs.mkdirSync(path.dirname(path.join(modules, dep)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules", dep), path.join(modules, dep));
  }
  return { dir, bundle: path.join(dir, "app", "dist"), orderBundle: path.join(dir, "app", "order"), cli: path.join(own, "bin", "akts.js") };
}

beforeAll(() => {
  ({ dir: deploy, bundle, orderBundle, cli } = deployment());
}, 120_000);

/** The order fixture's shop services over real HTTP; every call is counted. */
function startShop(): Promise<{ server: Server; calls: string[]; url: string }> {
  const calls: string[] = [];
  const replies: Record<string, unknown> = {
    "/payments/validate": { approved: true },
    "/inventory/reserve": ["widget"],
    "/shipments": { tracking: "TRK-7" },
    "/emails": { sent: true },
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      calls.push(req.url!);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(replies[req.url!] ?? {}));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, calls, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

/** Runs the deployed CLI without blocking this process (which serves the shop). */
function spawnAkts(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; stdout: string }> } {
  const child = spawn(process.execPath, [cli, ...args], { cwd: deploy, stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  return { child, done: new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout }))) };
}

async function poll<T>(what: string, check: () => T | undefined): Promise<T> {
  for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const value = check();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("akts build", () => {
  test("writes one ESM module and map per source, the manifest and akts-bundle.json", () => {
    const info = JSON.parse(fs.readFileSync(path.join(bundle, "akts-bundle.json"), "utf8"));
    expect(info).toMatchObject({ format: 1, akts: PKG.version, stubAbi: 3, project: "crash", manifest: "autokitteh.yaml" });
    expect(Date.parse(info.builtAt)).toBeGreaterThan(Date.now() - 10 * 60_000);
    expect(info.sites).toEqual(JSON.parse(fs.readFileSync(path.join(ROOT, "fixtures/crash/expected-check.json"), "utf8")).sites);
    expect(Object.keys(info.handlers).sort()).toEqual(["fanout.ts:fanout", "program.ts:crashEveryAttempt", "program.ts:env", "program.ts:handler", "program.ts:waits"]);
    expect(info.handlers["program.ts:handler"]).toEqual({ module: "program.js" });
    expect(info.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.parse(fs.readFileSync(path.join(bundle, "replay-shape.json"), "utf8")).fingerprint).toBe(info.fingerprint);
    expect(fs.readdirSync(bundle).sort()).toEqual(["akts-bundle.json", "autokitteh.yaml", "fanout.js", "fanout.js.map", "package.json", "program.js", "program.js.map", "replay-shape.json"]);
    expect(JSON.parse(fs.readFileSync(path.join(bundle, "package.json"), "utf8")).type).toBe("module");
    const program = fs.readFileSync(path.join(bundle, "program.js"), "utf8");
    expect(program).toMatch(/^import \* as __akts from "akts\/stub";$/m);
    expect(program).toMatch(/^import \{ activity, nextEvent, sleep \} from "akts";$/m);
    expect(program).not.toContain(ROOT);
  });

  test("a compiler error fails the build with its location and writes nothing", () => {
    const dir = tempDir("build-error");
    const out = path.join(dir, "dist");
    const r = akts(["build", path.join(ROOT, "fixtures/pg-sync/autokitteh.yaml"), "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fixtures\/pg-sync\/program\.ts:\d+:\d+: error AKTS2001: /m);
    expect(r.stderr).toContain("nothing was written");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("a failed build leaves the previous bundle as it was; a folder that is not a bundle is refused", () => {
    const dir = tempDir("rebuild");
    const out = path.join(dir, "dist");
    // The crash fixture's bundle the deployment was built with: a build of its own would compile the same project.
    fs.cpSync(path.join(deploy, "build", "dist"), out, { recursive: true });
    const before = fs.readFileSync(path.join(out, "akts-bundle.json"), "utf8");
    expect(akts(["build", path.join(ROOT, "fixtures/pg-sync/autokitteh.yaml"), "-o", out]).code).toBe(1);
    expect(fs.readFileSync(path.join(out, "akts-bundle.json"), "utf8")).toBe(before);
    expect(fs.readdirSync(dir)).toEqual(["dist"]);
    const other = path.join(dir, "other");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "notes.txt"), "keep me");
    const refused = akts(["build", CRASH, "-o", other]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("is not a bundle");
    expect(fs.readdirSync(other)).toEqual(["notes.txt"]);
  });
});

describe("a bundle deployed without TypeScript", () => {
  test("the deployment cannot resolve typescript", () => {
    expect(() => require.resolve("typescript", { paths: [deploy, bundle] })).toThrow();
  });

  test("akts run takes the bundle folder and completes the session", () => {
    const r = akts(["run", bundle, "--trigger", "steps", "--event", stepsEvent(deploy, 1)], { cwd: deploy, cli });
    expect(r.stderr).toMatch(RUN_STARTED);
    expect(r.code).toBe(0);
    const outcome = lastJson(r.stdout);
    expect(outcome.status).toBe("completed");
    expect(outcome.result.values).toEqual([10, 20, 30]);
    // The store defaults to .akts beside the bundle folder, as it does beside a manifest.
    const storeDir = path.join(deploy, "app", ".akts");
    expect(sessionEntries(storeDir, outcome.session_id).length).toBeGreaterThan(0);
    const records = JSON.parse(akts(["journal", outcome.session_id, "--store", storeDir, "--json"], { cwd: deploy, cli }).stdout);
    const info = JSON.parse(fs.readFileSync(path.join(bundle, "akts-bundle.json"), "utf8"));
    expect(records[0]).toMatchObject({ manifest: bundle, fingerprint: info.fingerprint });
    const replayed = akts(["replay", storeDir, "--bundle", bundle], { cwd: deploy, cli });
    expect(replayed.stdout).toBe(`${outcome.session_id}: replays cleanly (7 activities, result matches)\n`);
    expect(replayed.code).toBe(0);
  });

  test("a durable session killed mid-run resumes from the bundle", async () => {
    const dir = tempDir("bundle-crash");
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    const ev = path.join(dir, "event.json");
    fs.writeFileSync(ev, JSON.stringify({ log, steps: 3, pauseMs: 150 }));
    const { killed } = await killWhenLines(["run", bundle, "--trigger", "steps", "--event", ev, "--store", store], log, 3, cli);
    expect(killed).toBe(true);
    const resumed = akts(["resume", "--bundle", bundle, "--store", store], { cwd: deploy, cli });
    expect(resumed.code, resumed.stderr).toBe(0);
    const outcome = lastJson(resumed.stdout);
    expect(outcome.status).toBe("completed");
    expect(outcome.result.values).toEqual([10, 20, 30]);
    const counts = new Map<string, number>();
    for (const l of lines(log)) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect(counts.get("step 1")).toBe(1);
    expect(counts.get("marked 3")).toBe(1);
  });

  test("a command that needs TypeScript says so in one line", () => {
    const r = akts(["check"], { cwd: deploy, cli });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^akts check: error AKTS9004: akts check needs TypeScript, which is not installed here\n  hint: /);
  });

  test("loading and running a bundle never loads typescript, even where it is installed", () => {
    const store = path.join(tempDir("no-ts"), "store");
    const script = (argv: string[]) => `
      const { main } = require(${JSON.stringify(path.join(ROOT, "dist/cli/cli.js"))});
      main(${JSON.stringify(argv)}).then((code) => {
        const loaded = Object.keys(require.cache).filter((f) => /[\\\\/]node_modules[\\\\/]typescript[\\\\/]/.test(f));
        process.stderr.write(JSON.stringify({ code, loaded: loaded.length }));
      });`;
    const probe = (argv: string[]) => {
      const r = spawnSync(process.execPath, ["-e", script(argv)], { cwd: ROOT, encoding: "utf8" });
      return JSON.parse(r.stderr.trim().split("\n").at(-1)!);
    };
    expect(probe(["run", bundle, "--trigger", "env", "--store", store])).toEqual({ code: 0, loaded: 0 });
    // The probe sees TypeScript when a command does load it (check, before it finds no tsconfig).
    expect(probe(["check", "-p", path.join(path.dirname(store), "tsconfig.json")]).loaded).toBeGreaterThan(0);
  });

  test("the order fixture over real HTTP: killed while it waits for the warehouse, resumed from the bundle", async () => {
    const shop = await startShop();
    try {
      const dir = tempDir("bundle-order");
      const store = path.join(dir, "store");
      const ev = path.join(dir, "event.json");
      fs.writeFileSync(ev, JSON.stringify({ orderId: "o-1", email: "ada@example.com", services: shop.url }));
      const first = spawnAkts(["run", orderBundle, "--trigger", "process_order", "--event", ev, "--store", store]);
      const waiting = () => {
        const r = spawnSync(process.execPath, [cli, "sessions", "--store", store, "--status", "waiting", "--json"], { encoding: "utf8" });
        return r.status === 0 ? JSON.parse(r.stdout)[0]?.session_id : undefined;
      };
      const id = await poll("the order to wait for the warehouse", waiting);
      first.child.kill("SIGKILL");
      await first.done;
      expect(shop.calls).toEqual(["/payments/validate", "/inventory/reserve"]);
      expect(akts(["event", id, "warehouse_confirmation", "--data", '{"warehouse":"w-3"}', "--store", store], { cwd: deploy, cli }).code).toBe(0);
      const resumed = await spawnAkts(["resume", "--bundle", orderBundle, "--store", store]).done;
      expect(resumed.code).toBe(0);
      expect(lastJson(resumed.stdout)).toMatchObject({ session_id: id, status: "completed", result: { orderId: "o-1", payment: { approved: true }, tracking: { tracking: "TRK-7" } } });
      // The journaled calls were answered from the journal: each endpoint was called once.
      expect(shop.calls).toEqual(["/payments/validate", "/inventory/reserve", "/shipments", "/emails"]);
    } finally {
      shop.server.close();
    }
  });
});

/**
 * `--peers` (docs/performance.md): Restate and DBOS Transact running the bench's 10-step workflow (a sync HTTP
 * request in, 10 durable steps, the answer out), installed into a temporary folder from the npm registry, never
 * project dependencies. Each peer answers POST <url> with the body `{ n }` as `{ n: n + 10 }`, as akts's e2e
 * handler does, so bench/e2e.mjs's client measures all of them alike.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./lib.mjs";

const PACKAGES = ["@restatedev/restate-server", "@restatedev/restate-sdk", "@dbos-inc/dbos-sdk"];

/** One `ctx.run` per step: Restate journals each step's result before the handler goes on. */
const RESTATE_SERVICE = `
// The SDK uses Promise.withResolvers (Node 22); this Node is 20.
Promise.withResolvers ??= function () {
  let resolve, reject;
  const promise = new this((y, n) => ((resolve = y), (reject = n)));
  return { promise, resolve, reject };
};
const restate = require("@restatedev/restate-sdk");
const step = async (o) => ({ n: o.n + 1 });
const bench = restate.service({
  name: "bench",
  handlers: {
    run: async (ctx, input) => {
      let o = { n: input.n };
      for (let k = 0; k < 10; k++) o = await ctx.run("step", () => step(o));
      return o;
    },
  },
});
restate.serve({ services: [bench], port: Number(process.env.PORT) }).then(() => process.stdout.write("peer ready\\n"));
`;

/** DBOS in process, as it is meant to run: a node:http server whose request runs the workflow and awaits it. */
const DBOS_SERVER = `
const http = require("node:http");
const { DBOS } = require("@dbos-inc/dbos-sdk");
const step = async (o) => ({ n: o.n + 1 });
async function work(input) {
  let o = { n: input.n };
  for (let k = 0; k < 10; k++) o = await DBOS.runStep(() => step(o), { name: "step" });
  return o;
}
const bench = DBOS.registerWorkflow(work, { name: "bench" });
DBOS.setConfig({ name: "akts-bench", applicationVersion: "0.1.0", systemDatabaseUrl: process.env.DBOS_SYSTEM_DATABASE_URL, logLevel: "error" });
DBOS.launch().then(() => {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = JSON.stringify(await bench(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("peer ready\\n"));
});
`;

/** Installs the peers into a new temporary folder; returns it with the versions installed. */
export function installPeers() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-bench-peers-"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "akts-bench-peers", private: true }));
  // --ignore-scripts: the peers need no install script (the Restate server is a prebuilt binary package).
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", ...PACKAGES], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  const version = (name) => JSON.parse(fs.readFileSync(path.join(dir, "node_modules", name, "package.json"), "utf8")).version;
  return { dir, versions: Object.fromEntries(PACKAGES.map((p) => [p, version(p)])) };
}

/** Spawns a process and resolves once its output matches `ready`, or at once without one (rejects if it exits first). */
function launch(command, args, { cwd, env, ready }) {
  const child = spawn(command, args, { cwd, env: { ...process.env, DO_NOT_TRACK: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const seen = (d) => {
      out += d;
      if (ready?.test(out)) resolve({ stop: () => child.kill("SIGKILL") });
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    if (!ready) resolve({ stop: () => child.kill("SIGKILL") });
    child.on("exit", (code, signal) => reject(new Error(`${path.basename(command)} ${args.join(" ")} exited (${code ?? signal}) before it was ready:\n${out.slice(-4000)}`)));
  });
}

async function until(what, check, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await check(AbortSignal.timeout(5000))) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${what} did not come up within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A Restate server (its own data folder and ports, TCP only) and the bench service registered with it; resolves
 * with the ingress URL of the handler and `stop()`.
 */
export async function startRestate(peers) {
  const [ingress, admin, fabric, service] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const processes = [];
  const stop = () => processes.forEach((p) => p.stop());
  try {
    fs.writeFileSync(path.join(peers.dir, "restate-service.cjs"), RESTATE_SERVICE);
    processes.push(await launch(process.execPath, ["restate-service.cjs"], { cwd: peers.dir, env: { PORT: String(service) }, ready: /peer ready/ }));
    const server = path.join(peers.dir, "node_modules", "@restatedev", `restate-server-${os.platform()}-${os.arch()}`, "bin", "restate-server");
    const env = {
      RESTATE_LISTEN_MODE: "tcp",
      RESTATE_BIND_IP: "127.0.0.1",
      RESTATE_BIND_ADDRESS: `127.0.0.1:${fabric}`,
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingress}`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${admin}`,
      RESTATE_ADMIN__QUERY_ENGINE__PGSQL_BIND_ADDRESS: `127.0.0.1:${await freePort()}`,
    };
    processes.push(await launch(server, ["--no-logo", "--base-dir", path.join(peers.dir, "restate-data"), "--node-name", "bench"], { cwd: peers.dir, env }));
    await until("the Restate admin API", async (signal) => (await fetch(`http://127.0.0.1:${admin}/health`, { signal })).ok);
    await until("the Restate deployment", async (signal) => {
      const res = await fetch(`http://127.0.0.1:${admin}/deployments`, { signal, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ uri: `http://127.0.0.1:${service}`, force: true }) });
      return res.ok;
    });
    const url = `http://127.0.0.1:${ingress}/bench/run`;
    await until("the Restate ingress", async (signal) => (await fetch(url, { signal, method: "POST", headers: { "content-type": "application/json" }, body: '{"n":0}' })).ok);
    return { url, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** DBOS Transact in a node:http server process, its system database on `databaseUrl`. */
export async function startDbos(peers, databaseUrl) {
  const port = await freePort();
  fs.writeFileSync(path.join(peers.dir, "dbos-server.cjs"), DBOS_SERVER);
  const server = await launch(process.execPath, ["dbos-server.cjs"], { cwd: peers.dir, env: { PORT: String(port), DBOS_SYSTEM_DATABASE_URL: databaseUrl }, ready: /peer ready/ });
  return { url: `http://127.0.0.1:${port}/`, stop: server.stop };
}

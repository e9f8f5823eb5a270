#!/usr/bin/env node
// The crash-and-resume demo: the seed's process_order handler (fixtures/order) calls a small local shop service
// over real HTTP. The runner is SIGKILLed while the order waits for the warehouse, then the session is resumed.
// Durable mode answers the finished steps from the journal; non-durable mode reruns them. Exit 0 only if the
// outcome is right.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "bin", "akts.js");
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = "") => process.stdout.write(`${s}\n`);

/** The shop's services: every call is counted, so we can see what ran live. */
function startShop() {
  const calls = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      calls.push(req.url);
      say(`    shop <- POST ${req.url}`);
      const replies = {
        "/payments/validate": { approved: true },
        "/inventory/reserve": ["widget", "gadget"],
        "/shipments": { tracking: "TRK-1001" },
        "/emails": { sent: true },
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(replies[req.url] ?? {}));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, calls, url: `http://127.0.0.1:${server.address().port}` })));
}

/** Runs the CLI without blocking this process, which also serves the shop. */
function akts(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`akts ${args.join(" ")} failed (${code}):\n${err}${out}`))));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await check();
    if (value) return value;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function scenario(title, manifest, expectLive) {
  say(bold(`\n== ${title}`));
  const shop = await startShop();
  const dir = mkdtempSync(join(tmpdir(), "akts-demo-"));
  const store = join(dir, "store");
  const event = join(dir, "event.json");
  writeFileSync(event, JSON.stringify({ body: { orderId: "A-17", email: "ada@example.com", services: shop.url } }));
  try {
    say(`1. akts run ${manifest} --trigger process_order`);
    const runner = spawn(process.execPath, [cli, "run", manifest, "--trigger", "process_order", "--event", event, "--store", store], { cwd: root, stdio: "ignore" });
    const session = await waitFor("the order to wait for the warehouse", async () => {
      if (!existsSync(store)) return undefined;
      const [s] = JSON.parse(await akts(["sessions", "--store", store, "--json"]));
      return s?.status === "waiting" ? s : undefined;
    });
    say(`2. session ${session.session_id} is waiting for warehouse_confirmation; SIGKILL the runner`);
    runner.kill("SIGKILL");
    await new Promise((r) => runner.once("exit", r));
    const before = shop.calls.length;

    say("3. the warehouse confirms while no runner is up: akts event ... warehouse_confirmation");
    await akts(["event", session.session_id, "warehouse_confirmation", "--data", JSON.stringify({ warehouse: "north" }), "--store", store]);

    say(`4. akts resume --manifest ${manifest}`);
    const outcome = JSON.parse((await akts(["resume", "--manifest", manifest, "--store", store])).trim().split("\n").at(-1));
    say(`   result: ${JSON.stringify(outcome.result)}`);
    say("5. the journal:");
    say((await akts(["journal", session.session_id, "--store", store])).replace(/^/gm, "   ").trimEnd());

    const after = shop.calls.slice(before);
    say(`   before the crash the shop saw ${before} calls; after the resume ${after.length}: ${after.join(", ")}`);
    const ok = outcome.status === "completed" && outcome.result?.tracking?.tracking === "TRK-1001" && JSON.stringify(after) === JSON.stringify(expectLive);
    say(ok ? `   ok: ${title.toLowerCase()} behaved as expected` : `   WRONG: expected the resume to call ${expectLive.join(", ")}`);
    return ok;
  } finally {
    shop.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = Date.now();
const durable = await scenario("Durable mode", "fixtures/order/autokitteh.yaml", ["/shipments", "/emails"]);
const nondurable = await scenario("Non-durable mode", "fixtures/order/nondurable.yaml", ["/payments/validate", "/inventory/reserve", "/shipments", "/emails"]);
say(`\n${durable && nondurable ? "demo passed" : "demo FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
say("durable: payment and inventory came from the journal; only shipment and email ran live.");
say("non-durable: the session reran from the start, so payment and inventory ran twice.");
process.exit(durable && nondurable ? 0 : 1);

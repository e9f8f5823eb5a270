#!/usr/bin/env node
// The crash-and-resume demo: the seed's process_order handler (fixtures/order) calls a small local shop service
// over real HTTP. The runner is SIGKILLed while the order waits for the warehouse, then the session is resumed.
// Durable mode answers the finished steps from the journal; non-durable mode reruns them. Exit 0 only if the
// outcome is right.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
      say(`    shop <- POST ${req.url}${req.url.startsWith("/api/") ? ` ${decodeURIComponent(body)}` : ""}`);
      const replies = {
        "/payments/validate": { approved: true },
        "/inventory/reserve": ["widget", "gadget"],
        "/shipments": { tracking: "TRK-1001" },
        "/emails": { sent: true },
        "/notifications": { sent: true },
        "/api/chat.postMessage": { ok: true, ts: "1700000000.000100" },
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

async function waitFor(what, check, timeoutMs = 60_000) {
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
  writeFileSync(event, JSON.stringify({ orderId: "A-17", email: "ada@example.com", services: shop.url }));
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

/** `akts serve` in the background; resolves with its URL once it listens. */
function startServe(manifest, store, env) {
  const child = spawn(process.execPath, [cli, "serve", manifest, "--port", "0", "--store", store], { cwd: root, env: { ...process.env, ...env } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return waitFor("akts serve to listen", () => /listening on (http:\S+)/.exec(out)?.[1]).then((url) => ({ child, url }));
}

/**
 * The durability guide's three handlers, ported line for line (fixtures/seed), served by `akts serve`: two
 * non-durable webhooks, and `process_order` started with its order as data; its runner is SIGKILLed while the
 * order waits, and the live server takes the session over and finishes it.
 */
async function seedScenario() {
  say(bold("\n== The durability guide's handlers, line for line, under akts serve (fixtures/seed)"));
  const shop = await startShop();
  const dir = mkdtempSync(join(tmpdir(), "akts-demo-"));
  const store = join(dir, "store");
  const manifest = "fixtures/seed/autokitteh.yaml";
  const server = await startServe(manifest, store, { SHOP_URL: shop.url, SLACK_API_URL: `${shop.url}/api/`, AKTS_LEASE_TTL_MS: "3000" });
  try {
    const post = (trigger, json) => fetch(`${server.url}/webhooks/${trigger}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) });
    say(`1. akts serve ${manifest}; POST /webhooks/webhook {"message":"hello"} (handler: event.data.body.json)`);
    await post("webhook", { message: "hello" });
    await waitFor("the notification", () => shop.calls.includes("/notifications"));
    say(`2. POST /webhooks/simple_webhook {"message":"disk full"} (handle_webhook: validate, then Slack)`);
    await post("simple_webhook", { message: "disk full" });
    await waitFor("the Slack message", () => shop.calls.includes("/api/chat.postMessage"));
    say(`3. process_order with {"order_id":"A-18"} (event.data.order_id), run beside the server`);
    const event = join(dir, "order.json");
    writeFileSync(event, JSON.stringify({ order_id: "A-18" }));
    const runner = spawn(process.execPath, [cli, "run", manifest, "--trigger", "process_order", "--event", event, "--store", store], { cwd: root, stdio: "ignore", env: { ...process.env, SHOP_URL: shop.url } });
    const waiting = async () => JSON.parse(await akts(["sessions", "--store", store, "--json"])).find((x) => x.trigger === "process_order" && x.status === "waiting");
    const session = await waitFor("the order to wait for the warehouse", waiting);
    say(`4. session ${session.session_id} waits for warehouse_confirmation; SIGKILL its runner`);
    runner.kill("SIGKILL");
    await new Promise((r) => runner.once("exit", r));
    const before = shop.calls.length;
    say("5. the warehouse confirms over HTTP; the live server takes the session over and finishes it");
    const token = readFileSync(join(store, "admin-token"), "utf8").trim();
    const sent = await fetch(`${server.url}/sessions/${session.session_id}/events/warehouse_confirmation`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ warehouse: "north" }) });
    if (sent.status !== 202) throw new Error(`event delivery answered ${sent.status}`);
    const done = await waitFor("the order to complete", async () => JSON.parse(await akts(["sessions", "--store", store, "--json"])).find((x) => x.session_id === session.session_id && x.status === "completed"));
    const after = shop.calls.slice(before);
    say(`   ${done.session_id} completed; after the takeover the shop saw: ${after.join(", ")}`);
    const ok = JSON.stringify(after) === JSON.stringify(["/shipments", "/emails"]);
    say(ok ? "   ok: the guide's handlers ran unchanged; payment and inventory came from the journal" : "   WRONG: expected only /shipments, /emails after the takeover");
    return ok;
  } finally {
    server.child.kill("SIGTERM");
    shop.server.close();
    await new Promise((r) => server.child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = Date.now();
const durable = await scenario("Durable mode", "fixtures/order/autokitteh.yaml", ["/shipments", "/emails"]);
const nondurable = await scenario("Non-durable mode", "fixtures/order/nondurable.yaml", ["/payments/validate", "/inventory/reserve", "/shipments", "/emails"]);
const seed = await seedScenario();
const passed = durable && nondurable && seed;
say(`\n${passed ? "demo passed" : "demo FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
say("durable: payment and inventory came from the journal; only shipment and email ran live.");
say("non-durable: the session reran from the start, so payment and inventory ran twice.");
say("seed: the guide's handlers ran as written; a live server finished an order whose runner died.");
process.exit(passed ? 0 : 1);

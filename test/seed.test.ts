/**
 * fixtures/seed: the durability guide's `handler`, `handle_webhook` and `process_order`, ported line for line,
 * run unchanged under `akts serve` against a local shop (and Slack) service that records every call.
 * `process_order` is started with its order as data; its runner is SIGKILLed while the order waits, and the
 * server finishes it from the journal.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { akts, CLI, ROOT, tempDir } from "./helpers";
import { serve } from "./serve-process";

const MANIFEST = path.join(ROOT, "fixtures/seed/autokitteh.yaml");
const calls: { url: string; body: string }[] = [];
let shop: Server;

beforeAll(async () => {
  shop = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      calls.push({ url: req.url!, body });
      const reply = req.url === "/inventory/reserve" ? ["widget"] : req.url!.startsWith("/api/") ? { ok: true, ts: "1.1" } : { ok: true };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => shop.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  // The fixture reads its services' addresses from the environment, which the CLI processes below inherit.
  process.env.SHOP_URL = url;
  process.env.SLACK_API_URL = `${url}/api/`;
});

afterAll(() => shop?.close());

/** The session `id` of `store` once it has `status`, from `akts sessions`. */
function sessionWith(store: string, status: string, id?: string): { session_id: string; status: string } | undefined {
  const r = akts(["sessions", "--store", store, "--json"]);
  const list: { session_id: string; status: string }[] = r.code === 0 ? JSON.parse(r.stdout) : [];
  return list.find((x) => x.status === status && (id === undefined || x.session_id === id));
}

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    const value = probe();
    if (value) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("the guide's handlers run as written under akts serve; process_order survives its runner's SIGKILL", async () => {
  const dir = tempDir("seed");
  const store = path.join(dir, "store");
  const order = path.join(dir, "order.json");
  fs.writeFileSync(order, JSON.stringify({ order_id: "A-18" }));
  const runner = spawn(process.execPath, [CLI, "run", MANIFEST, "--trigger", "process_order", "--event", order, "--store", store], { cwd: ROOT, stdio: "ignore" });
  const { session_id: id } = await until("the order to wait for the warehouse", () => (fs.existsSync(store) ? sessionWith(store, "waiting") : undefined));
  runner.kill("SIGKILL");
  await new Promise((r) => runner.once("exit", r));
  expect(calls.map((c) => c.url)).toEqual(["/payments/validate", "/inventory/reserve"]);
  expect(JSON.parse(calls[0].body)).toEqual({ orderId: "A-18" });

  const s = await serve(MANIFEST, store);
  const post = (trigger: string, json: unknown) => fetch(`${s.url}/webhooks/${trigger}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) });
  // handler: event.data.body.json → process → send_notification.
  expect((await post("webhook", { message: "hello" })).status).toBe(202);
  const note = await until("the notification", () => calls.find((c) => c.url === "/notifications"));
  expect(JSON.parse(note.body)).toEqual({ summary: "processed: hello" });
  // handle_webhook: an invalid body returns before Slack; a valid one posts once.
  expect((await post("simple_webhook", { nothing: true })).status).toBe(202);
  expect((await post("simple_webhook", { message: "disk full" })).status).toBe(202);
  const slack = await until("the Slack message", () => calls.find((c) => c.url === "/api/chat.postMessage"));
  expect(new URLSearchParams(slack.body).get("text")).toBe("Received: disk full");
  expect(new URLSearchParams(slack.body).get("channel")).toBe("#alerts");

  // process_order, taken over by the server: the warehouse confirms, and only the steps after the wait run live.
  const sent = await fetch(`${s.url}/sessions/${id}/events/warehouse_confirmation`, { method: "POST", headers: { authorization: `Bearer ${s.token}` }, body: JSON.stringify({ warehouse: "north" }) });
  expect(sent.status).toBe(202);
  await until("the order's email", () => calls.find((c) => c.url === "/emails"));
  await until("the order to complete", () => sessionWith(store, "completed", id));
  expect(calls.map((c) => c.url).filter((u) => !u.startsWith("/api/") && u !== "/notifications")).toEqual(["/payments/validate", "/inventory/reserve", "/shipments", "/emails"]);
  expect(calls.filter((c) => c.url === "/api/chat.postMessage")).toHaveLength(1);
  expect(JSON.parse(calls.find((c) => c.url === "/shipments")!.body)).toEqual({ orderId: "A-18", items: ["widget"] });
});

/**
 * The session page in a real browser: `akts serve` runs the order fixture as a child process, and Debian's
 * Chromium, driven by playwright-core, signs in, finds the session, reads its timeline, delivers the event the
 * session waits for and sees it complete. The browser has no network but this server's.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { CLI, ROOT, tempDir } from "./helpers";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
/** The README's screenshot is rewritten only on request (as the goldens are): a test run leaves the checkout as it was. */
const screenshot = () => (process.env.UPDATE_GOLDEN === "1" ? path.join(ROOT, "docs", "ui.png") : path.join(tempDir("ui-shot"), "ui.png"));

let server: ChildProcess;
let store: string;
let url: string;
let token: string;
let shop: Server;
let services: string;
let browser: BrowserContext;
/** Every URL the browser asked for, to check the token never appears in one. */
const requested: string[] = [];

beforeAll(async () => {
  // The shop the order handler posts to: every step answers with its path.
  shop = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ step: req.url }));
    });
  });
  await new Promise<void>((resolve) => shop.listen(0, "127.0.0.1", resolve));
  services = `http://127.0.0.1:${(shop.address() as { port: number }).port}`;

  store = tempDir("ui");
  await serve("0");
  browser = await chromium.launchPersistentContext(tempDir("chromium"), { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  browser.on("request", (r) => requested.push(r.url()));
});

afterAll(async () => {
  await browser?.close();
  server?.kill("SIGKILL");
  shop?.close();
});

/** Starts `akts serve` on the order fixture and the test's store, and waits until it listens. */
async function serve(port: string): Promise<void> {
  server = spawn(process.execPath, [CLI, "serve", path.join(ROOT, "fixtures/order/autokitteh.yaml"), "--port", port, "--store", store, "--print-token"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  server.stdout!.on("data", (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on("data", () => /listening on \S+\n/.test(out) && resolve());
    server.on("exit", (code) => reject(new Error(`akts serve exited with ${code}:\n${out}`)));
  });
  url = /listening on (\S+)\n/.exec(out)![1];
  token = /admin token ([A-Za-z0-9_-]{20,})\n/.exec(out)![1];
}

async function signIn(page: Page, with_: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.fill("#token", with_);
  await page.click("form.login button[type=submit]");
}

async function startOrder(): Promise<string> {
  const res = await fetch(`${url}/webhooks/order_webhook`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ orderId: "A-17", email: "ada@example.com", services }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { session_id: string }).session_id;
}

test("a wrong token is refused, and the page keeps none", async () => {
  const page = await browser.newPage();
  await signIn(page, "not-the-token");
  await expect.poll(() => page.locator("[role=alert]").textContent(), { timeout: 10_000 }).toContain("The token was refused");
  expect(await page.locator("form.login").count()).toBe(1);
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await page.close();
});

test("sign in, find the session, see its timeline and the event it waits for, deliver it, see it complete", async () => {
  const id = await startOrder();
  const page = await browser.newPage();
  await signIn(page, token);

  // The list: the session, newest first, with its status.
  const row = page.locator("table.sessions tbody tr", { hasText: id });
  await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
  await page.click(`a:text-is("${id}")`);
  await page.waitForSelector(`h2 .id:text-is("${id}")`);

  // Two fetches ran; the handler waits for the warehouse (nextEvent with a timeout journals its name).
  await expect.poll(() => page.locator(".waiting-for").textContent(), { timeout: 15_000 }).toBe("warehouse_confirmation");
  expect(await page.locator('.bar[data-kind="activity"]').count()).toBe(2);
  // The page is drawn again every second: a bar measured as it is replaced has no box, so measure until one has.
  const width = (bar: string) => expect.poll(async () => (await page.locator(bar).first().boundingBox())?.width ?? 0, { timeout: 10_000 });
  await width('.bar[data-kind="activity"]').toBeGreaterThan(2);
  await width('.bar[data-kind="waiting"]').toBeGreaterThan(2);
  expect(await page.locator(".row .source").first().textContent()).toContain("await fetch(url");
  expect(await page.locator(".row .place").first().textContent()).toBe("program.ts:12:21");
  expect(await page.inputValue("form.deliver input[name=event]")).toBe("warehouse_confirmation");

  await page.fill("form.deliver textarea", JSON.stringify({ warehouse: "north" }));
  const shot = screenshot();
  await page.screenshot({ path: shot, fullPage: true });
  expect(fs.statSync(shot).size).toBeGreaterThan(10_000);

  // The server dies and comes back on the same port: the page rides it out, and shows the session's second attempt
  // as a replay (its fetches and timer answered from the journal), waiting again.
  const died = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGKILL");
  await died;
  await serve(new URL(url).port);
  await expect.poll(() => page.locator('[data-kind="replay"]').textContent(), { timeout: 20_000 }).toContain("replay after a crash or restart: 3 journaled outcomes");
  await expect.poll(() => page.locator(".waiting-for").textContent(), { timeout: 15_000 }).toBe("warehouse_confirmation");
  expect(await page.locator('.bar[data-kind="activity"]').count()).toBe(2);

  // Deliver from the page; markup in the value stays text.
  await page.fill("form.deliver textarea", JSON.stringify({ warehouse: "<img src=x onerror=\"window.__pwned=1\">" }));
  await page.click("form.deliver button[type=submit]");

  // Live updates: the page polls and shows the session complete, with its four fetches and the event received.
  await expect.poll(() => page.locator("h2 .badge").textContent(), { timeout: 20_000 }).toBe("completed");
  expect(await page.locator('.bar[data-kind="activity"]').count()).toBe(4);
  expect(await page.locator('.mark[data-kind="event"]').count()).toBe(1);
  expect(await page.locator("section.outcome.ok h3").textContent()).toMatch(/^Completed /);
  expect(await page.locator("form.deliver").count()).toBe(0);
  await page.click('details:has(> summary:text-is("Event as journaled")) > summary');
  expect(await page.locator('details[open] pre:has-text("onerror")').textContent()).toContain('<img src=x onerror=\\"window.__pwned=1\\">');
  expect(await page.locator("main img").count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  // The token went in headers only.
  expect(requested.length).toBeGreaterThan(3);
  expect(requested.filter((u) => u.includes(token))).toEqual([]);
  expect(page.url()).not.toContain(token);
  await page.close();
});

test("the Cancel button stops a waiting session: it ends cancelled, and the list filters by that status", async () => {
  const id = await startOrder();
  const page = await browser.newPage();
  await signIn(page, token);
  await page.evaluate((s) => (location.hash = `#/s/${encodeURIComponent(s)}`), id);
  await expect.poll(() => page.locator(".waiting-for").textContent(), { timeout: 15_000 }).toBe("warehouse_confirmation");
  await page.click("form.cancel button[type=submit]");
  await expect.poll(() => page.locator("h2 .badge").textContent(), { timeout: 20_000 }).toBe("cancelled");
  expect(await page.locator("section.outcome.cancelled h3").textContent()).toMatch(/^Cancelled /);
  expect(await page.locator("form.cancel").count()).toBe(0);
  await page.evaluate(() => (location.hash = "#/?status=cancelled"));
  await expect.poll(() => page.locator("table.sessions tbody tr").count(), { timeout: 10_000 }).toBe(1);
  expect(await page.locator("table.sessions tbody tr .badge.cancelled").textContent()).toBe("cancelled");
  await page.close();
});

test("a session id with HTML and script in it is shown as text", async () => {
  const page = await browser.newPage();
  await signIn(page, token);
  await page.waitForSelector("table.sessions");
  const hostile = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
  await page.evaluate((h) => (location.hash = `#/s/${encodeURIComponent(h)}`), hostile);
  await expect.poll(() => page.locator("[role=alert]").textContent(), { timeout: 10_000 }).toContain(`no session '${hostile}'`);
  expect(await page.locator("main img, main script").count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await page.close();
});

test("the page and its files are small, offline and served with a policy that forbids inline and foreign code", async () => {
  let bytes = 0;
  for (const file of ["/", "/ui/app.js", "/ui/app.css"]) {
    const res = await fetch(`${url}${file}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const text = await res.text();
    expect(text).not.toMatch(/https?:\/\//);
    bytes += Buffer.byteLength(text);
  }
  expect(bytes).toBeLessThan(150 * 1024);
});

test("a packed tarball serves the same page: its files are compiled modules in dist/, with no copy step", async () => {
  const dir = tempDir("ui-pack");
  execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], { cwd: ROOT });
  execFileSync("tar", ["xzf", path.join(dir, `akts-${JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version}.tgz`), "-C", dir]);
  // The packed ui module, alone (no node_modules): it answers the three files as the server does.
  const script = `
    const { handleUi } = require(${JSON.stringify(path.join(dir, "package", "dist", "runtime", "server", "ui", "ui.js"))});
    const server = require("node:http").createServer((req, res) => handleUi(req.url, req, res));
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ["-e", script], { cwd: dir, stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<string>((resolve) => child.stdout!.once("data", (d) => resolve(String(d).trim())));
    for (const file of ["/", "/ui/app.js", "/ui/app.css"]) {
      const packed = await fetch(`http://127.0.0.1:${port}${file}`);
      expect(packed.status).toBe(200);
      expect(await packed.text()).toBe(await (await fetch(`${url}${file}`)).text());
    }
  } finally {
    child.kill();
  }
});

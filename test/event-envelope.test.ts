/**
 * The handler's argument is AutoKitteh's envelope `{ data, event_id, event_type, session_id }`; a webhook's
 * `data` is the request as AutoKitteh's webhook service builds it. One server (fixtures/serve's `echo`, which
 * returns the event it got) answers every request of the first test (the harness stops it after each test);
 * `akts run --event` gets the same envelope.
 */
import { expect, test } from "vitest";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { akts, ROOT, tempDir } from "./helpers";
import { serve, type Served } from "./serve-process";

const MANIFEST = path.join(ROOT, "fixtures/serve/autokitteh.yaml");
let s: Served;

/** A request with repeated header lines (fetch would fold them into one before sending). */
function request(route: string, headers: http.OutgoingHttpHeaders, body?: Buffer | string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${s.url}${route}`, { method: body === undefined ? "GET" : "POST", headers }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode}: ${text}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("a webhook's envelope: sub-paths, repeated headers and query values, JSON, text, bytes and form bodies", async () => {
  s = await serve(MANIFEST, path.join(tempDir("envelope"), "store"));
  const event = await request("/webhooks/echo/orders/a%20b?x=1&x=2&y=3", { "content-type": "application/json", "x-multi": ["one", "two"] }, '{"n":1}');
  expect(event).toMatchObject({ event_type: "post", event_id: expect.stringMatching(/^evt_/), session_id: expect.stringMatching(/^ses_/) });
  expect(Object.keys(event).sort()).toEqual(["data", "event_id", "event_type", "session_id"]);
  expect(event.data).toMatchObject({
    method: "POST",
    raw_url: "/webhooks/echo/orders/a%20b?x=1&x=2&y=3",
    url: { path: "/webhooks/echo/orders/a b", query: { x: "1, 2", y: "3" }, path_suffix: "orders/a b" },
    headers: { "Content-Type": "application/json", "X-Multi": "one, two" },
    trailers: {},
    body: { json: { n: 1 }, text: '{"n":1}', bytes: '{"n":1}' },
  });
  expect(event.data.body.form).toBeUndefined();
  // The trigger's own path, with or without a trailing slash, has no suffix.
  expect((await request("/webhooks/echo/", {})).data.url.path_suffix).toBe("");
  expect((await request("/webhooks/echo", {})).data).toMatchObject({ method: "GET", url: { path_suffix: "" }, body: {} });

  // A body that is not JSON has no json; text only when it is UTF-8; JSON is found whatever the content type.
  const text = await request("/webhooks/echo", { "content-type": "text/plain" }, "hello");
  expect(text.data.body).toEqual({ text: "hello", bytes: "hello" });
  const binary = await request("/webhooks/echo", { "content-type": "application/octet-stream" }, Buffer.from([0xff, 0xfe, 0x00]));
  expect(binary.data.body).toEqual({ bytes: "\u00ff\u00fe\u0000" });
  const undeclared = await request("/webhooks/echo", { "content-type": "text/plain" }, '[1, {"a": true}]');
  expect(undeclared.data.body.json).toEqual([1, { a: true }]);

  // A url-encoded form: its fields, several values joined with ", ", and no json.
  const form = await request("/webhooks/echo", { "content-type": "application/x-www-form-urlencoded" }, "a=1&a=2&b=x%20y&__proto__=z");
  expect(form.data.body.form).toEqual({ a: "1, 2", b: "x y", ["__proto__"]: "z" });
  expect(form.data.body.json).toBeUndefined();
  expect(form.data.body.text).toBe("a=1&a=2&b=x%20y&__proto__=z");
});

test("akts run --event: the file is the data of a manual start (no event id or type)", () => {
  const dir = tempDir("envelope-run");
  const file = path.join(dir, "event.json");
  fs.writeFileSync(file, JSON.stringify({ order_id: "A-17" }));
  const r = akts(["run", MANIFEST, "--trigger", "echo", "--event", file, "--store", path.join(dir, "store")]);
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.result).toEqual({ data: { order_id: "A-17" }, event_id: null, event_type: null, session_id: out.session_id });
});

/**
 * Which webhook sessions `akts serve` creates without waiting for their header's sync (docs/stores.md, Durability):
 * only a sync webhook's without an Idempotency-Key, whose caller is told nothing before its answer. An async 202 and
 * a keyed request (a repeat is told the session at once) are created synced. The server and a file store run in
 * this process; the store is watched at `create`.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, type TriggerRef } from "../runtime/engine";
import type { Trigger } from "../runtime/manifest";
import { startServer, type RunningServer } from "../runtime/server/server";
import { FileStore } from "../runtime/store/file-store";
import type { CreateOptions } from "../runtime/store/store";

const loc = { file: "autokitteh.yaml", line: 1, column: 1 };
const trigger = (name: string, sync: boolean): Trigger => ({
  name,
  type: "webhook",
  durable: false,
  sync,
  idempotencyRetention: 60,
  call: { file: "program.ts", export: "handler" },
  maxAttempts: 3,
  loc,
  callLoc: loc,
});

let dir: string;
let store: FileStore;
let server: RunningServer;
/** The options of every `create`, by trigger, in order. */
const created: Array<[string, CreateOptions | undefined]> = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-create-sync-"));
  store = new FileStore(dir, "always");
  const create = store.create.bind(store);
  store.create = (header, runner, attempt, options) => {
    created.push([header.trigger, options]);
    return create(header, runner, attempt, options);
  };
  const engine = new Engine({ store });
  const ref = (name: string): TriggerRef => ({ project: "p", trigger: name, handler: "program.ts:handler", mode: "nondurable", maxAttempts: 3, codeHash: "x" });
  server = await startServer({
    engine,
    store,
    project: "p",
    triggers: [trigger("sync", true), trigger("async", false)],
    resolve: async (name) => ({ trigger: ref(name), handler: async () => "done" }),
    adminToken: "create-sync-test-token-0123456789abcdefghijkl",
    host: "127.0.0.1",
    port: 0,
    maxBody: 1 << 20,
    takeoverMs: 60_000,
    log: () => {},
  });
});

afterAll(async () => {
  await server?.shutdown(1000);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a sync webhook defers its creation's sync; with an Idempotency-Key, or async, it is synced before the session runs", async () => {
  const post = (name: string, headers: Record<string, string> = {}) => fetch(`${server.url}/webhooks/${name}`, { method: "POST", headers, body: "{}" });
  expect(await (await post("sync")).json()).toBe("done");
  expect(await (await post("sync", { "idempotency-key": "k1" })).json()).toBe("done");
  expect((await post("async")).status).toBe(202);
  expect(created).toEqual([
    ["sync", { deferSync: true }],
    ["sync", { deferSync: false }],
    ["async", { deferSync: false }],
  ]);
});

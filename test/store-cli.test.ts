/** `akts sessions` and `akts journal` through the built CLI (run `npm run build` first). */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStore, newSessionId } from "../runtime/store";
import type { HeaderRecord } from "../runtime/journal";

const CLI = path.resolve(__dirname, "..", "bin", "akts.js");

function akts(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let storeDir: string;
let done: string;
let failed: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-store-cli-"));
  storeDir = path.join(dir, ".akts");
  const store = new FileStore(storeDir, "none");
  const header = (trigger: string): HeaderRecord => ({
    t: "header", v: 1, sessionId: newSessionId(), project: "shop", trigger, handler: "program.ts:handler", mode: "durable", codeHash: "h", event: { order: 7 }, createdAt: 1_700_000_000_000,
  });
  const a = await store.create(header("orders"), "r");
  done = a.id;
  a.appendSync({ t: "attempt", attempt: 1, at: 1_700_000_000_010 });
  await a.append({ t: "activity", seq: 1, site: "program.ts:4:9", callee: "stripe.charges.create", ok: true, value: { id: "ch_1", amount: 12n }, async: true, start: 1_700_000_000_020, end: 1_700_000_000_145 });
  await a.append({ t: "timer", seq: 2, site: "program.ts:6:3", deadline: 1_700_000_060_000 });
  await a.append({ t: "end", ok: true, result: "shipped", at: 1_700_000_000_200 });
  await a.setStatus("completed", { attempts: 1, result: "shipped" });
  await a.release();
  const b = await store.create(header("refunds"), "r");
  failed = b.id;
  await b.setStatus("failed", { attempts: 3, error: "gave up after 3 attempts", errorCode: "AKTS6002" });
  await b.release();
  await store.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("akts sessions", () => {
  test("a table of sessions, newest first, from .akts in the current folder", () => {
    const r = akts(["sessions"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^SESSION\s+TRIGGER\s+MODE\s+STATUS\s+ATTEMPTS\s+CREATED\s+UPDATED\s+PARENT\s+ERROR$/);
    expect(rows).toHaveLength(4);
    expect(rows[2]).toMatch(new RegExp(`^${failed}\\s+shop/refunds\\s+durable\\s+failed\\s+3\\s+2023-11-14T22:13:20.000Z\\s+\\S+\\s+AKTS6002 gave up after 3 attempts$`));
    expect(rows[3]).toMatch(new RegExp(`^${done}\\s+shop/orders\\s+durable\\s+completed\\s+1\\s`));
  });

  test("--status filters, --json gives the summaries, --manifest finds the store beside it", () => {
    const r = akts(["sessions", "--status", "completed", "--json", "--manifest", path.join(dir, "autokitteh.yaml")], os.tmpdir());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ session_id: done, status: "completed", attempts: 1, result: "shipped", trigger: "orders" })]);
  });

  test("a missing store and a bad --status are one-line errors", () => {
    const missing = akts(["sessions", "--store", path.join(dir, "nowhere")], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `akts sessions: error AKTS9004: no akts store at ${path.join(dir, "nowhere")}\n  hint: pass --store <dir> or --manifest <autokitteh.yaml>, or run a session first\n`,
    );
    const bad = akts(["sessions", "--status", "done"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("akts sessions: error AKTS9001: unknown --status 'done' (use running, waiting, completed, failed, cancelled)\n");
  });
});

describe("akts journal", () => {
  test("one row per record with seq, site, outcome, value and timing", () => {
    const r = akts(["journal", done, "--store", storeDir], os.tmpdir());
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split("\n").map((l) => l.split(/\s{2,}/));
    expect(rows[0]).toEqual(["#", "TYPE", "SEQ", "SITE / CALLEE", "OK", "VALUE", "AT", "TOOK"]);
    expect(rows.slice(2)).toEqual([
      ["1", "header", "shop/orders program.ts:handler", "durable", '{"order":7}', "2023-11-14T22:13:20.000Z"],
      ["2", "attempt", "attempt 1", "+0.010s"],
      ["3", "activity", "1", "stripe.charges.create at program.ts:4:9", "ok", '{"id":"ch_1","amount":"12n"}', "+0.020s", "125 ms"],
      ["4", "timer", "2", "program.ts:6:3", "until 2023-11-14T22:14:20.000Z"],
      ["5", "end", "ok", '"shipped"', "+0.200s"],
    ]);
  });

  test("--json prints every record in full", () => {
    const r = akts(["journal", done, "--json"], dir);
    expect(r.code).toBe(0);
    const records = JSON.parse(r.stdout);
    expect(records.map((x: { t: string }) => x.t)).toEqual(["header", "attempt", "activity", "timer", "end"]);
    expect(records[2]).toEqual({ t: "activity", seq: 1, site: "program.ts:4:9", callee: "stripe.charges.create", ok: true, value: { id: "ch_1", amount: "12n" }, async: true, start: 1_700_000_000_020, end: 1_700_000_000_145 });
  });

  test("an unknown session and a missing id are one-line errors", () => {
    const unknown = akts(["journal", "ses_nothing", "--store", storeDir], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`akts journal: error AKTS9004: no session ses_nothing in ${storeDir}\n`);
    const usage = akts(["journal"], dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe("akts journal: error AKTS9001: usage: akts journal <session> [--store dir|url | --manifest m] [--json]\n");
  });
});

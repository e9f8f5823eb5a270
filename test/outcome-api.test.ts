/**
 * `httpOutcome()`/`outcome()` and `nextEvent(..., { full: true })` in the engine, without a server: what the
 * caller is handed, the refusals (AKTS6010, AKTS6011, AKTS6012), and a durable replay that answers nobody.
 */
import { afterEach, beforeEach, expect, test } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { activity, nextEvent } from "../runtime/api";
import { Engine, type TriggerRef } from "../runtime/engine";
import { httpOutcome, outcome, type SessionOutcome } from "../runtime/outcome";
import { FileStore } from "../runtime/store/file-store";
import { replayOnly } from "../runtime/replay-only";

let dir: string;
let store: FileStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-outcome-"));
  store = new FileStore(dir, "none");
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const trigger = (mode: "durable" | "nondurable"): TriggerRef => ({ project: "p", trigger: "t", handler: "program.ts:handler", mode, maxAttempts: 3, codeHash: "h" });

const code = async (p: Promise<unknown>) => (await p.then(() => "resolved", (err: { code?: string }) => err.code ?? String(err))) as string;

test("bad httpOutcome arguments are AKTS6010, and calls outside workflow code AKTS6012", async () => {
  expect(await code(httpOutcome())).toBe("AKTS6012");
  expect(await code(outcome(1))).toBe("AKTS6012");
  const seen: string[] = [];
  const inActivity = activity(async () => code(httpOutcome({ status: 200 })));
  const handler = async () => {
    seen.push(await code(httpOutcome({ status: 99 })));
    seen.push(await code(httpOutcome({ status: 200, body: "a", json: {} })));
    seen.push(await code(httpOutcome({ status: 200, headers: { "x-n": 1 as unknown as string } })));
    seen.push(await code(httpOutcome({ status_code: 200 } as never)));
    seen.push(await inActivity());
    return "done";
  };
  const ended = await new Engine({ store }).start(trigger("durable"), handler, {});
  expect(ended.status).toBe("completed");
  expect(seen).toEqual(["AKTS6010", "AKTS6010", "AKTS6010", "AKTS6010", "AKTS6012"]);
});

for (const mode of ["durable", "nondurable"] as const) {
  test(`${mode}: the caller gets the first outcome once; a second call is AKTS6011; the session runs on`, async () => {
    const answers: SessionOutcome[] = [];
    const handler = async () => {
      await httpOutcome({ status: 201, json: { ok: true }, headers: { "x-a": "1" } });
      const second = await code(outcome("again"));
      return { second };
    };
    const created = await new Engine({ store }).create(trigger(mode), {});
    const ended = await created.run(handler, (o) => answers.push(o));
    expect(answers).toEqual([{ fn: "httpOutcome", value: { status: 201, json: { ok: true }, headers: { "x-a": "1" } } }]);
    expect(ended).toMatchObject({ status: "completed", result: { second: "AKTS6011" }, outcome: answers[0] });
    const outcomes = (await store.read(created.sessionId)).records.filter((r) => r.t === "outcome");
    expect(outcomes).toHaveLength(mode === "durable" ? 1 : 0);
  });
}

test("`ending` is told how the session ends (its result and what the handler answered, or its failure), and its reply runs before run() resolves", async () => {
  const order: string[] = [];
  const handler = async () => {
    await outcome("early");
    return { n: 1 };
  };
  const created = await new Engine({ store }).create(trigger("nondurable"), {});
  const ended = await created.run(handler, () => order.push("early"), (told) => {
    order.push(`ending ${told.status} ${JSON.stringify(told.result)} ${told.outcome?.fn}`);
    return () => order.push("reply");
  });
  order.push("resolved");
  expect(order).toEqual(["early", "ending completed {\"n\":1} outcome", "reply", "resolved"]);
  expect(ended).toMatchObject({ status: "completed", result: { n: 1 }, outcome: { fn: "outcome", value: "early" } });
  const failing = await new Engine({ store }).create(trigger("nondurable"), {});
  const told: string[] = [];
  await failing.run(async () => Promise.reject(new Error("boom")), undefined, (o) => (told.push(`${o.status} ${o.error?.message}`), () => told.push("reply")));
  expect(told).toEqual(["failed boom", "reply"]);
});

test("a durable replay finds the outcome in the journal and answers nobody; nextEvent full returns the whole event", async () => {
  let calls = 0;
  const handler = async () => {
    calls++;
    await outcome({ status: 202, body: "queued" });
    const first = await nextEvent<{ n: number }>("go", { full: true });
    return first;
  };
  const created = await new Engine({ store, runner: "a" }).create(trigger("durable"), {});
  const answers: SessionOutcome[] = [];
  const running = created.run(handler, (o) => answers.push(o));
  const eventId = await store.deliver(created.sessionId, "go", { n: 1 });
  const first = await running;
  expect(first.result).toEqual({ data: { n: 1 }, event_id: eventId, event_type: "go", session_id: created.sessionId });
  expect(answers).toHaveLength(1);
  // Replaying the journal (akts replay, which refuses every write): the recorded outcome and event answer, so
  // the outcome call neither appends nor reaches a caller.
  const report = await replayOnly((await store.read(created.sessionId)).records, handler, "h");
  expect(report).toMatchObject({ status: "clean" });
  expect(calls).toBe(2);
});

/**
 * Bounds through the real server, in both modes and both stores: a trigger's max_concurrent queues the sessions
 * beyond it in the store, a SIGKILL of the server loses none of them and the next server starts them in FIFO order,
 * never more than the bound at once; an Idempotency-Key returns the same session for a repeat, across a restart,
 * and refuses a repeat with another body (422 AKTS7030).
 */
import { describe, expect, test } from "vitest";
import { parseManifest } from "../runtime/manifest";
import { ended, lines, mostAtOnce, operateProject, post, sessionsOf, startServe, storeKinds, until } from "./operate-harness";

const { manifest, dir } = operateProject("bounds");
const stores = storeKinds();
const BOUND = 2;

describe.each(stores.kinds)("%s store", (kind) => {
  test.each([
    ["durable", "bounded"],
    ["non-durable", "bounded_nd"],
  ])("%s: queued sessions survive a SIGKILL and run in FIFO order within max_concurrent", async (_mode, trigger) => {
    const store = await stores.make(kind, dir);
    let server = await startServe(manifest, store);
    const log = `${dir}/${kind}-${trigger}.log`;
    const tags = ["b1", "b2", "b3", "b4", "b5"];
    const answers = [];
    for (const tag of tags) answers.push(await post(server.url, trigger, { log, tag, steps: 3, ms: 400 }, tag === "b5" ? { "idempotency-key": `${kind}-${trigger}` } : {}));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers.map((a) => a.body.queued === true)).toEqual([false, false, true, true, true]);
    const ids = answers.map((a) => a.body.session_id as string);
    await until("the first two to run", () => (lines(log).some((l) => l.startsWith("b2 step")) ? true : undefined));
    await server.kill();
    const beforeKill = lines(log);
    expect(new Set(beforeKill.map((l) => l.split(" ")[0]))).toEqual(new Set(["b1", "b2"]));

    server = await startServe(manifest, store);
    // A repeat of the queued b5 finds its session (queued, or started by now), not a new one.
    const repeat = await post(server.url, trigger, { log, tag: "b5", steps: 3, ms: 400 }, { "idempotency-key": `${kind}-${trigger}` });
    expect(repeat).toMatchObject({ status: 202, body: { session_id: ids[4] } });
    expect(repeat.headers["idempotent-replayed"]).toBe("true");
    for (const id of ids) expect(await ended(store, id)).toMatchObject({ status: "completed" });
    const all = lines(log);
    // None lost, none twice: five sessions of the trigger, each cleaned up once.
    expect(sessionsOf(store).filter((s) => s.trigger === `operate/${trigger}` || s.trigger === trigger)).toHaveLength(5);
    for (const tag of tags) expect(all.filter((l) => l === `${tag} cleanup`), tag).toHaveLength(1);
    const firstLine = (tag: string) => all.findIndex((l) => l.startsWith(`${tag} `));
    expect(firstLine("b3")).toBeLessThan(firstLine("b4"));
    expect(firstLine("b4")).toBeLessThan(firstLine("b5"));
    expect(mostAtOnce(all.slice(beforeKill.length))).toBeLessThanOrEqual(BOUND);
    expect(mostAtOnce(beforeKill)).toBeLessThanOrEqual(BOUND);
    await server.kill();
  }, 180_000);

  test("an Idempotency-Key returns the same session, across a SIGKILL, and refuses another body", async () => {
    const store = await stores.make(kind, dir);
    let server = await startServe(manifest, store);
    const body = { log: `${dir}/${kind}-keyed.log`, steps: 1, ms: 1 };
    const first = await post(server.url, "steps_nd", body, { "idempotency-key": "order-1" });
    expect(first.status).toBe(202);
    const id = first.body.session_id;
    const again = await post(server.url, "steps_nd", body, { "idempotency-key": "order-1" });
    expect(again).toMatchObject({ status: 202, body: { session_id: id } });
    const other = await post(server.url, "steps_nd", { ...body, steps: 2 }, { "idempotency-key": "order-1" });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe("AKTS7030");
    // The same key on another trigger is another key.
    const elsewhere = await post(server.url, "steps", body, { "idempotency-key": "order-1" });
    expect(elsewhere.body.session_id).not.toBe(id);
    expect((await post(server.url, "steps_nd", body, { "idempotency-key": "x".repeat(256) })).body.error.code).toBe("AKTS7031");
    await server.kill();
    server = await startServe(manifest, store);
    expect((await post(server.url, "steps_nd", body, { "idempotency-key": "order-1" })).body.session_id).toBe(id);
    await ended(store, id);
    expect(sessionsOf(store).filter((s) => s.session_id === id)).toHaveLength(1);
    expect(sessionsOf(store)).toHaveLength(2);
    await server.kill();
  }, 120_000);
});

test("max_concurrent must be a whole number of at least 1, reported at its key", () => {
  const yaml = (value: string) => `version: v1\nproject:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n      max_concurrent: ${value}\n      call: program.ts:h\n`;
  for (const bad of ["0", "-1", "1.5", "many"]) {
    let error: any;
    try {
      parseManifest(yaml(bad), "autokitteh.yaml");
    } catch (err) {
      error = err;
    }
    expect(error?.code, bad).toBe("AKTS3001");
    expect(error.location).toMatchObject({ file: "autokitteh.yaml", line: 7, key: "project.triggers[0].max_concurrent" });
  }
  expect(parseManifest(yaml("3"), "autokitteh.yaml").triggers[0].maxConcurrent).toBe(3);
});

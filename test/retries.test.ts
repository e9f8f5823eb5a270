/**
 * Retry policies through the real server, in both modes and both stores, with a SIGKILL during the backoff after a
 * failed attempt: a durable session journals every failed attempt, reruns none of them and waits only what is left
 * of the backoff; a non-durable one retries in its process and, rerun after the crash, journals no attempt. A
 * FatalError is never retried; an attempt past its timeout fails with AKTS6033 and is retried (engine level).
 */
import { describe, expect, test } from "vitest";
import { activity } from "../runtime/api";
import { Engine } from "../runtime/engine";
import { FileStore } from "../runtime/store/file-store";
import { ActivityTimeoutError, FatalError, RetryableError } from "../runtime/errors";
import { tempDir } from "./helpers";
import { ended, journalOf, lines, operateProject, post, startServe, storeKinds, until } from "./operate-harness";

const { manifest, dir } = operateProject("retries");
const stores = storeKinds();
/** fixtures/operate's flaky activity: backoff 2500 ms, then 3000 ms. */
const FIRST_BACKOFF_MS = 2500;

/** `tag attempt <n> <epoch ms>` lines of a log: attempt number → start time. */
function attemptTimes(log: string, tag: string): [number, number][] {
  return lines(log)
    .filter((l) => l.startsWith(`${tag} attempt `))
    .map((l) => l.split(" ").slice(2).map(Number) as [number, number]);
}

describe.each(stores.kinds)("%s store", (kind) => {
  test.each([
    ["durable", "retries"],
    ["non-durable", "retries_nd"],
  ])("%s: a SIGKILL during the backoff reruns no attempt; fatal errors are not retried", async (mode, trigger) => {
    const store = await stores.make(kind, dir);
    let server = await startServe(manifest, store);
    const log = `${dir}/${kind}-${trigger}.log`;
    const fatalLog = `${dir}/${kind}-${trigger}-fatal.log`;
    const fatal = (await post(server.url, trigger, { log: fatalLog, fatal: true })).body.session_id;
    expect(await ended(store, fatal)).toMatchObject({ status: "failed", errorCode: "AKTS6031" });
    expect(attemptTimes(fatalLog, "r")).toHaveLength(1);
    const id = (await post(server.url, trigger, { log, fails: 2 })).body.session_id;
    await until("the first attempt", () => (attemptTimes(log, "r").length === 1 ? true : undefined));
    if (mode === "durable") await until("the failed attempt journaled", () => (journalOf(store, id).some((r) => r.t === "retry") ? true : undefined));
    await server.kill();
    const killedAt = Date.now();
    server = await startServe(manifest, store);
    const readyAt = Date.now();
    expect(await ended(store, id)).toMatchObject({ status: "completed" });
    const times = attemptTimes(log, "r");
    // The SIGKILL came during the first backoff.
    expect(times[1][1]).toBeGreaterThan(killedAt);
    // Each attempt ran once: the one that failed before the crash was not run again.
    expect(times.map(([n]) => n)).toEqual([1, 2, 3]);
    expect(lines(log).filter((l) => l === "r succeeded at 3")).toHaveLength(1);
    const journal = journalOf(store, id);
    if (mode === "durable") {
      expect(journal.filter((r: any) => r.t === "retry").map((r: any) => r.attempt)).toEqual([1, 2]);
      expect(journal.filter((r: any) => r.t === "attempt")).toHaveLength(2);
      // The backoff outlived the crash: not shortened, and after the restart only its remainder was waited.
      const [[, t1], [, t2]] = times;
      expect(t2 - t1).toBeGreaterThanOrEqual(FIRST_BACKOFF_MS - 5);
      expect(t2 - Math.max(t1 + FIRST_BACKOFF_MS, readyAt)).toBeLessThan(FIRST_BACKOFF_MS);
    } else {
      expect(journal.map((r: any) => r.t)).toEqual(["header", "attempt", "attempt", "end"]);
    }
    await server.kill();
  }, 180_000);
});

describe("retry policy (engine)", () => {
  const ref = (mode: "durable" | "nondurable") => ({ project: "p", trigger: "t", handler: "program.ts:handler", mode, maxAttempts: 3, codeHash: "h" }) as const;

  test.each(["durable", "nondurable"] as const)("%s: a timed-out attempt fails with AKTS6033 and the next one runs", async (mode) => {
    const store = new FileStore(tempDir("retry"), "none");
    let calls = 0;
    const slowFirst = activity(
      async () => {
        calls++;
        if (calls === 1) await new Promise((r) => setTimeout(r, 2_000));
        return calls;
      },
      { retries: 1, timeout: 100, backoff: { initial: 10 } },
    );
    const out = await new Engine({ store }).start(ref(mode), () => slowFirst(), null);
    expect(out).toMatchObject({ status: "completed", result: 2 });
    const records = (await store.read(out.sessionId)).records;
    if (mode === "durable") expect(records.find((r) => r.t === "retry")).toMatchObject({ attempt: 1, error: { code: "AKTS6033" } });
    else expect(records.some((r) => r.t === "retry")).toBe(false);
    await store.close();
  });

  test("RetryableError's retryAfter replaces the backoff; FatalError ends the retries; bad options are AKTS6035", async () => {
    const store = new FileStore(tempDir("retry"), "none");
    const seen: number[] = [];
    const flaky = activity(
      async () => {
        seen.push(Date.now());
        if (seen.length === 1) throw new RetryableError("again soon", { retryAfter: 20 });
        if (seen.length === 2) throw new FatalError("no more");
        return "unreached";
      },
      { retries: 5, backoff: { initial: 60_000 } },
    );
    const out = await new Engine({ store }).start(ref("durable"), () => flaky(), null);
    expect(out).toMatchObject({ status: "failed", error: { code: "AKTS6031", message: "no more" } });
    expect(seen).toHaveLength(2);
    expect(seen[1] - seen[0]).toBeLessThan(10_000);
    const retry = (await store.read(out.sessionId)).records.find((r) => r.t === "retry") as { at: number; next: number };
    expect(retry.next - retry.at).toBe(20);
    expect(() => activity(async () => 1, { retries: -1 })).toThrow(/AKTS6035|retries must be/);
    expect(() => activity(async () => 1, { retries: 1, backoff: { factor: 0.5 } })).toThrow(/backoff.factor/);
    expect(new ActivityTimeoutError("f", 5).code).toBe("AKTS6033");
    await store.close();
  });
});

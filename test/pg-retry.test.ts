/** The PostgreSQL store's outage retries (runtime/store/pg-retry.ts): what is retried, for how long, and a try that landed. */
import { describe, expect, test } from "vitest";
import { isNotServing, isTransient, retrying, type RetryPolicy } from "../runtime/store/pg-retry";

const fast: RetryPolicy = { budgetMs: 2_000, firstDelayMs: 1, maxDelayMs: 5 };
const pgError = (code: string, message = code) => Object.assign(new Error(message), { code });

describe("which errors are outages", () => {
  test.each([
    ["57P03", "the database system is starting up"],
    ["57P01", "terminating connection due to administrator command"],
    ["ECONNREFUSED", "connect ECONNREFUSED"],
    ["08006", "connection failure"],
  ])("%s is retried", (code, message) => expect(isTransient(pgError(code, message))).toBe(true));

  test("a connection cut without a code is retried; a constraint, a login refusal and a bug are not", () => {
    expect(isTransient(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isTransient(pgError("23505"))).toBe(false);
    expect(isTransient(pgError("28P01", "password authentication failed"))).toBe(false);
    expect(isTransient(new TypeError("x is undefined"))).toBe(false);
    expect(isNotServing(pgError("57P03"))).toBe(true);
    expect(isNotServing(pgError("ECONNREFUSED"))).toBe(false);
  });
});

describe("retrying", () => {
  test("an outage is waited out; the result is the first success", async () => {
    let tries = 0;
    const value = await retrying(async () => {
      if (++tries < 4) throw pgError("57P03");
      return "ok";
    }, { policy: fast });
    expect([value, tries]).toEqual(["ok", 4]);
  });

  test("any other error is thrown at once", async () => {
    let tries = 0;
    await expect(retrying(async () => {
      tries++;
      throw pgError("23505");
    }, { policy: fast })).rejects.toMatchObject({ code: "23505" });
    expect(tries).toBe(1);
  });

  test("past the budget the last outage error is thrown", async () => {
    const started = Date.now();
    await expect(retrying(async () => Promise.reject(pgError("ECONNREFUSED")), { policy: { budgetMs: 200, firstDelayMs: 10, maxDelayMs: 40 } })).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test("a try whose reply was lost but that landed is not repeated", async () => {
    const writes: string[] = [];
    const value = await retrying(
      async () => {
        writes.push("frame");
        // Committed, then the connection dropped before the reply.
        if (writes.length === 1) throw new Error("Connection terminated unexpectedly");
        return "inserted twice";
      },
      { policy: fast, landed: async () => (writes.length > 0 ? "already there" : undefined) },
    );
    expect(value).toBe("already there");
    expect(writes).toEqual(["frame"]);
  });

  test("a first try made already: its outage is retried after asking whether it landed, its other errors thrown", async () => {
    const asked: string[] = [];
    const value = await retrying(async () => (asked.push("try"), "retried"), {
      policy: fast,
      failed: { error: pgError("57P01"), at: Date.now() },
      landed: async () => (asked.push("landed?"), undefined),
    });
    expect([value, asked]).toEqual(["retried", ["landed?", "try"]]);
    let tries = 0;
    const refused = retrying(async () => (tries++, "never"), { policy: fast, failed: { error: pgError("23505"), at: Date.now() } });
    await expect(refused).rejects.toMatchObject({ code: "23505" });
    expect(tries).toBe(0);
  });

  test("a first try made already counts in the budget from when it began", async () => {
    let tries = 0;
    const late = retrying(async () => (tries++, "too late"), { policy: { budgetMs: 200, firstDelayMs: 10, maxDelayMs: 40 }, failed: { error: pgError("ECONNREFUSED"), at: Date.now() - 1_000 } });
    await expect(late).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(tries).toBe(0);
  });
});

import { expect, test } from "vitest";
import fc from "fast-check";
import { decode, encode, prepare, project } from "../runtime/codec";
import { UnserializableResultError } from "../runtime/errors";

const SITE = { callee: "api.get", id: "program.ts:3:9" };
const roundTrip = (v: unknown) => decode(encode(project(v, SITE).value));

/** Values the codec restores faithfully. */
const data = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string(),
    fc.double({ noNaN: false }).filter((n) => !Object.is(n, -0)),
    fc.integer(),
    fc.boolean(),
    fc.bigInt(),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array().map((a) => new Uint8Array(a)),
    fc.string().map((s) => new RegExp(s.replace(/[\\[\](){}?*+^$|.]/g, "\\$&"), "gi")),
    fc.webUrl().map((u) => new URL(u)),
  ),
  node: fc.oneof(
    { depthSize: "small" },
    tie("leaf"),
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(fc.string().filter((k) => k !== "__proto__"), tie("node"), { maxKeys: 4 }),
    fc.array(fc.tuple(fc.string(), tie("node")), { maxLength: 3 }).map((e) => new Map(e)),
    fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 4 }).map((e) => new Set(e)),
  ),
})).node;

test("every supported type round-trips (property)", () => {
  fc.assert(
    fc.property(data, (v) => {
      expect(roundTrip(v)).toEqual(v);
    }),
    { numRuns: 300 },
  );
});

test("Buffer and ArrayBuffer keep their class; undefined and null stay distinct", () => {
  const v = roundTrip({ b: Buffer.from("hi"), ab: new Uint8Array([1, 2]).buffer, u: undefined, n: null, arr: [undefined, null] }) as Record<string, any>;
  expect(Buffer.isBuffer(v.b)).toBe(true);
  expect(v.ab).toBeInstanceOf(ArrayBuffer);
  expect("u" in v && v.u === undefined && v.n === null).toBe(true);
  expect(v.arr).toEqual([undefined, null]);
});

test("errors keep class, message, stack, cause and own properties", () => {
  const cause = new Error("root cause");
  const err = Object.assign(new TypeError("bad input", { cause }), { code: "E_BAD", status: 422 });
  class RateLimited extends Error {
    override name = "RateLimited";
  }
  const back = roundTrip({ err, custom: new RateLimited("slow down") }) as { err: TypeError & { code: string; status: number }; custom: Error };
  expect(back.err).toBeInstanceOf(TypeError);
  expect(back.err.message).toBe("bad input");
  expect(back.err.stack).toBe(err.stack);
  expect((back.err.cause as Error).message).toBe("root cause");
  expect(back.err.code).toBe("E_BAD");
  expect(back.err.status).toBe(422);
  expect(back.custom.name).toBe("RateLimited");
  expect(back.custom).toBeInstanceOf(Error);
});

test("cycles and shared references survive", () => {
  const shared = { s: 1 };
  const v: Record<string, unknown> = { a: shared, b: shared };
  v.self = v;
  const back = roundTrip(v) as Record<string, any>;
  expect(back.self).toBe(back);
  expect(back.a).toBe(back.b);
});

test("a fetch Response is buffered, journaled and can be read again after decoding", async () => {
  const live = new Response(JSON.stringify({ ok: 1 }), { status: 201, statusText: "Created", headers: { "x-id": "7" } });
  const prepared = await prepare({ res: live });
  expect(await live.json()).toEqual({ ok: 1 });
  const back = (decode(encode(project(prepared, SITE).value)) as { res: Response }).res;
  expect(back).toBeInstanceOf(Response);
  expect(back.status).toBe(201);
  expect(back.statusText).toBe("Created");
  expect(back.headers.get("x-id")).toBe("7");
  expect(await back.json()).toEqual({ ok: 1 });
  expect(roundTrip(new Headers({ a: "b" }))).toEqual(new Headers({ a: "b" }));
});

test("functions are dropped and class instances become plain data, each reported by path", () => {
  class Client {
    host = "db";
    query() {}
  }
  const { value, dropped } = project({ data: { name: "n" }, config: { transform: () => 1, client: new Client() } }, SITE);
  expect(dropped).toEqual(["$.config.transform", "$.config.client (Client → plain object)"]);
  expect(decode(encode(value))).toEqual({ data: { name: "n" }, config: { client: { host: "db" } } });
});

test.each([
  [{ a: { b: Symbol("s") } }, "$.a.b", "a symbol"],
  [{ list: [1, new WeakMap()] }, "$.list[1]", "a WeakMap"],
  [{ p: Promise.resolve(1) }, "$.p", "a Promise"],
])("unserializable values are refused with the site and the path", (value, path, what) => {
  expect(() => project(value, SITE)).toThrow(UnserializableResultError);
  expect(() => project(value, SITE)).toThrow(`api.get at program.ts:3:9: result is not serializable: ${what}`);
  try {
    project(value, SITE);
  } catch (e) {
    expect((e as Error).message).toContain(`at ${path}`);
  }
});

test("a __proto__ key in data cannot pollute prototypes", () => {
  const v = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
  const back = roundTrip(v) as Record<string, unknown>;
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  expect(back.ok).toBe(1);
});

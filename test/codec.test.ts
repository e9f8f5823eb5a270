import { expect, test } from "vitest";
import fc from "fast-check";
import { EventEmitter } from "node:events";
import * as net from "node:net";
import { Packr } from "msgpackr";
import { codecOptions, decode, decodeAt, decodeKnown, encode, encodeActivityWithHeadroom, encodeWithHeadroom, holdsResponse, prepare, project, UNKNOWN } from "../runtime/codec";
import { UnserializableResultError } from "../runtime/errors";
import { registerErrorClasses } from "../runtime/error-class";

const SITE = { callee: "api.get", id: "program.ts:3:9" };
const roundTrip = (v: unknown) => decode(encode(project(v, SITE).value));

const key = fc.string().filter((k) => k !== "__proto__");

/** Values the codec restores faithfully (toEqual compares class, -0, NaN, dates, maps, sets, typed arrays). */
const data = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string(),
    fc.double(),
    fc.constantFrom(-0, NaN, Infinity, -Infinity),
    fc.integer(),
    fc.boolean(),
    fc.bigInt(),
    fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array(),
    fc.uint8Array().map((a) => Buffer.from(a)),
    fc.uint8Array().map((a) => a.slice().buffer),
    fc.float64Array(),
    fc.tuple(fc.string(), fc.subarray(["d", "g", "i", "m", "s", "u", "y"])).map(([s, flags]) => new RegExp(s.replace(/[\\[\](){}?*+^$|.]/g, "\\$&"), flags.join(""))),
    fc.webUrl().map((u) => new URL(u)),
    fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), fc.stringMatching(/^[ -~]*$/).map((s) => s.trim())).map((h) => new Headers(h)),
  ),
  node: fc.oneof(
    { depthSize: "small" },
    tie("leaf"),
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(key, tie("node"), { maxKeys: 4 }),
    fc.array(fc.tuple(fc.oneof(fc.string(), fc.integer(), tie("leaf")), tie("node")), { maxLength: 3 }).map((e) => new Map(e)),
    fc.array(tie("node"), { maxLength: 4 }).map((e) => new Set(e)),
  ),
})).node;

test("every supported type round-trips (property)", () => {
  fc.assert(
    fc.property(data, (v) => {
      const back = roundTrip(v);
      expect(back).toEqual(v);
      expect(Object.prototype.toString.call(back)).toBe(Object.prototype.toString.call(v));
    }),
    { numRuns: 400 },
  );
});

test("errors round-trip with class, name, message, stack, cause and own properties (property)", () => {
  const classes = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
  fc.assert(
    fc.property(
      fc.constantFrom(...classes),
      fc.string(),
      fc.option(fc.string(), { nil: undefined }),
      fc.dictionary(fc.constantFrom("code", "status", "errno", "detail"), fc.oneof(fc.string(), fc.integer())),
      (Ctor, message, causeMessage, props) => {
        const err = Object.assign(causeMessage === undefined ? new Ctor(message) : new Ctor(message, { cause: new Error(causeMessage) }), props);
        const back = roundTrip(err) as Error;
        expect(back).toBeInstanceOf(Ctor);
        expect(back.name).toBe(err.name);
        expect(back.message).toBe(message);
        expect(back.stack).toBe(err.stack);
        expect({ ...back }).toEqual({ ...err });
        if (causeMessage === undefined) expect("cause" in back).toBe(false);
        else expect((back.cause as Error).message).toBe(causeMessage);
      },
    ),
    { numRuns: 100 },
  );
});

test("error subclasses come back as their nearest built-in class, named after their own class", () => {
  class HttpError extends TypeError {}
  class RateLimited extends Error {
    override name = "RateLimited";
  }
  const back = roundTrip({ http: new HttpError("404"), custom: new RateLimited("slow down") }) as Record<string, Error>;
  expect(back.http).toBeInstanceOf(TypeError);
  expect(back.http.name).toBe("HttpError");
  expect(back.custom).toBeInstanceOf(Error);
  expect(back.custom.name).toBe("RateLimited");
  const agg = roundTrip(new AggregateError([new RangeError("a"), "b"], "both")) as AggregateError;
  expect(agg).toBeInstanceOf(AggregateError);
  expect(agg.errors[0]).toBeInstanceOf(RangeError);
  expect(agg.errors[1]).toBe("b");
});

test("an error of a registered class gets its class back; a name two registered classes share is not guessed", () => {
  class QuotaError extends RangeError {}
  const Twin1 = class TwinError extends Error {};
  const Twin2 = class TwinError extends Error {};
  registerErrorClasses(() => [QuotaError, Twin1, Twin2, "not a class", Object]);
  const back = roundTrip([new QuotaError("over"), new Twin1("a")]) as Error[];
  expect(back[0]).toBeInstanceOf(QuotaError);
  expect(back[0]).toBeInstanceOf(RangeError);
  expect(back[0].message).toBe("over");
  expect(back[1]).not.toBeInstanceOf(Twin1);
  expect(back[1].name).toBe("TwinError");
  // A registration whose references throw registers nothing and does not throw.
  expect(() => registerErrorClasses(() => { throw new ReferenceError("x"); })).not.toThrow();
});

test("-0 and NaN survive inside containers, and shared -0 markers too", () => {
  const back = roundTrip({ a: [-0, -0, 0], n: NaN }) as { a: number[]; n: number };
  expect(Object.is(back.a[0], -0) && Object.is(back.a[1], -0) && Object.is(back.a[2], 0)).toBe(true);
  expect(back.n).toBeNaN();
  expect(Object.is(roundTrip(-0), -0)).toBe(true);
});

test("Buffer and ArrayBuffer keep their class; undefined and null stay distinct", () => {
  const v = roundTrip({ b: Buffer.from("hi"), ab: new Uint8Array([1, 2]).buffer, u: undefined, n: null, arr: [undefined, null] }) as Record<string, any>;
  expect(Buffer.isBuffer(v.b)).toBe(true);
  expect(v.ab).toBeInstanceOf(ArrayBuffer);
  expect("u" in v && v.u === undefined && v.n === null).toBe(true);
  expect(v.arr).toEqual([undefined, null]);
  expect(v.arr.length).toBe(2);
  expect(roundTrip(new Date(NaN))).toBeInstanceOf(Date);
  expect((roundTrip(new Date(NaN)) as Date).getTime()).toBeNaN();
});

test("cycles and shared references survive, through objects, arrays, maps and sets", () => {
  const shared = { s: 1 };
  const v: Record<string, unknown> = { a: shared, b: shared, list: [shared] };
  v.self = v;
  v.map = new Map([["me", v]]);
  v.set = new Set([shared]);
  const back = roundTrip(v) as Record<string, any>;
  expect(back.self).toBe(back);
  expect(back.a).toBe(back.b);
  expect(back.list[0]).toBe(back.a);
  expect(back.map.get("me")).toBe(back);
  expect([...back.set][0]).toBe(back.a);
});

test("a fetch Response is buffered, journaled, and can be read (and cloned) again after decoding", async () => {
  const live = new Response(JSON.stringify({ ok: 1 }), { status: 201, statusText: "Created", headers: { "x-id": "7" } });
  const prepared = await prepare({ res: live });
  expect(await live.json()).toEqual({ ok: 1 });
  const back = (decode(encode(project(prepared, SITE).value)) as { res: Response }).res;
  expect(back).toBeInstanceOf(Response);
  expect(back.status).toBe(201);
  expect(back.statusText).toBe("Created");
  expect(back.headers).toBeInstanceOf(Headers);
  expect(back.headers.get("x-id")).toBe("7");
  expect(await back.json()).toEqual({ ok: 1 });
  expect(await back.text()).toBe('{"ok":1}');
  expect(new TextDecoder().decode(await back.arrayBuffer())).toBe('{"ok":1}');
  expect(await back.clone().json()).toEqual({ ok: 1 });
  const empty = decode(encode(project(await prepare(new Response(null, { status: 204 })), SITE).value)) as Response;
  expect(empty.status).toBe(204);
  expect(await empty.text()).toBe("");
});

test("functions are dropped and class instances become plain data, each reported by path", () => {
  class Client {
    host = "db";
    query() {}
    get url() {
      return `pg://${this.host}`;
    }
  }
  const input = { data: { name: "n" }, config: { transform: () => 1, client: new Client(), "odd key": [1, () => 2], "<key>": () => 3 } };
  const { value, dropped } = project(input, SITE);
  expect(dropped).toEqual(["$.config.transform", "$.config.client (Client → plain object)", '$.config["odd key"][1]', '$.config["<key>"]']);
  expect(decode(encode(value))).toEqual({ data: { name: "n" }, config: { client: { host: "db" }, "odd key": [1, undefined] } });
  // The live value is untouched; only the projection changed.
  expect(typeof input.config.transform).toBe("function");
  expect(project({ plain: { a: [1, 2] } }, SITE).value).toEqual({ plain: { a: [1, 2] } });
  const pure = { plain: { a: [1, 2] } };
  expect(project(pure, SITE).value).toBe(pure);
});

test("plain data at any depth is journaled as it is; what needs projecting deep inside it is still found", () => {
  const tree = { ok: true, items: [{ id: 1, tags: ["a", null], owner: { name: "n", deep: { deeper: [1, 2] } } }] };
  expect(project(tree, SITE)).toEqual({ value: tree, dropped: [] });
  expect(project(tree, SITE).value).toBe(tree);
  expect(holdsResponse(tree)).toBe(false);
  const deep = { a: { b: [{ c: { f: () => 1, z: -0, when: new Date(0) } }] } };
  const { value, dropped } = project(deep, SITE);
  expect(dropped).toEqual(["$.a.b[0].c.f"]);
  const back = decode(encode(value)) as typeof deep;
  expect(Object.is(back.a.b[0].c.z, -0)).toBe(true);
  expect(back.a.b[0].c.when).toEqual(new Date(0));
  expect(holdsResponse({ a: [{ b: new Response("x") }] })).toBe(true);
  // A cycle is past any depth: the full walk keeps its shape.
  const cyclic: Record<string, unknown> = { name: "c" };
  cyclic.self = { back: cyclic };
  const again = decode(encode(project(cyclic, SITE).value)) as { self: { back: unknown } };
  expect(again.self.back).toBe(again);
});

test("inside maps, sets and errors, functions and live handles are dropped with their paths", () => {
  const err = Object.assign(new Error("request failed"), {
    status: 500,
    config: { url: "/x", transformRequest: [() => 1] },
    request: new EventEmitter(),
  });
  const { value, dropped } = project({ m: new Map<string, unknown>([["f", () => 1], ["k", 1]]), s: new Set([1, () => 2]), err }, SITE);
  expect(dropped).toEqual(['$.m.get("f")', "$.s<item>", "$.err.config.transformRequest[0]", "$.err.request (live EventEmitter)"]);
  const back = decode(encode(value)) as { m: Map<string, unknown>; s: Set<unknown>; err: Error & Record<string, unknown> };
  expect(back.m).toEqual(new Map([["k", 1]]));
  expect(back.s).toEqual(new Set([1]));
  expect(back.err).toBeInstanceOf(Error);
  expect(back.err.message).toBe("request failed");
  expect(back.err.status).toBe(500);
  expect(back.err.config).toEqual({ url: "/x", transformRequest: [undefined] });
  expect("request" in back.err).toBe(false);
  expect(err.request).toBeInstanceOf(EventEmitter);
});

test.each([
  [{ a: { b: Symbol("s") } }, "$.a.b", "a symbol"],
  [{ list: [1, new WeakMap()] }, "$.list[1]", "a WeakMap"],
  [{ s: new Set([new WeakSet()]) }, "$.s<item>", "a WeakSet"],
  [{ r: new WeakRef({}) }, "$.r", "a WeakRef"],
  [{ p: Promise.resolve(1) }, "$.p", "a Promise"],
  [{ res: new Response("x") }, "$.res", "an unbuffered Response"],
  [new net.Socket(), "$", "a live Socket"],
  [new EventEmitter(), "$", "a live EventEmitter"],
])("unserializable values are refused with the site and the path (%#)", (value, path, what) => {
  let err: unknown;
  try {
    project(value, SITE);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UnserializableResultError);
  expect((err as UnserializableResultError).code).toBe("AKTS2002");
  expect((err as UnserializableResultError).path).toBe(path);
  expect((err as Error).message).toContain(`api.get at program.ts:3:9: result is not serializable: ${what}`);
  expect((err as Error).message).toContain(`at ${path}`);
});

test("a __proto__ key in data cannot pollute prototypes", () => {
  const v = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
  const back = roundTrip(v) as Record<string, unknown>;
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  expect(back.ok).toBe(1);
});

test("every message decodes alone with the codec's options, whatever was encoded before it", () => {
  const values = [
    { t: "activity", seq: 1, site: "a.ts:1:1", callee: "f", ok: true, value: { id: 1, m: new Map([["k", { id: 2 }]]) }, async: true, start: 1, end: 2 },
    { t: "activity", seq: 2, site: "a.ts:1:1", callee: "f", ok: false, error: new RangeError("r"), async: true, start: 1, end: 2 },
    { t: "attempt", attempt: 2, at: 3 },
    { id: 1 },
    { other: { id: 1 }, list: [{ id: 1 }, { x: 1 }] },
    new Map([[{ id: 1 }, 1]]),
  ];
  const messages = values.map((v) => Buffer.from(encode(v)));
  for (let i = messages.length - 1; i >= 0; i--) {
    expect(new Packr(codecOptions()).unpack(messages[i])).toEqual(values[i]);
    expect(decode(messages[i])).toEqual(values[i]);
  }
});

test("a webhook event (null-prototype maps, bytes) is data as it is; a Response inside a null-prototype map is still found", async () => {
  const headers = Object.assign(Object.create(null), { "Content-Type": "application/json" });
  const event = { data: { body: { bytes: new Uint8Array([123, 125]), text: "{}", json: {} }, headers, url: { query: Object.create(null) } } };
  expect(project(event, SITE)).toEqual({ value: event, dropped: [] });
  expect(project(event, SITE).value).toBe(event);
  expect(await prepare(event)).toBe(event);
  expect(holdsResponse(event)).toBe(false);
  const holding = Object.assign(Object.create(null), { bytes: Buffer.from("x"), res: new Response("body") });
  expect(holdsResponse({ holding })).toBe(true);
  const prepared = (await prepare({ holding })) as { holding: { res: unknown } };
  expect(prepared.holding.res).not.toBeInstanceOf(Response);
  expect(decode(encode(project(prepared, SITE).value))).toMatchObject({ holding: { res: { status: 200 } } });
});

test("holdsResponse finds a fetch Response at any depth, and nothing in plain data", () => {
  expect(holdsResponse({ a: [1, { b: new Map([["r", new Response("x")]]) }] })).toBe(true);
  expect(holdsResponse(new Response("x"))).toBe(true);
  expect(holdsResponse({ a: [1, { b: new Map([["r", 1]]) }], s: new Set([2]) })).toBe(false);
  expect(holdsResponse("text")).toBe(false);
});

test("decodeAt gives small and large values back whole; a small frame's binary value outlives the next decode", () => {
  // Buffers are msgpack bin values, which msgpackr gives back as views of what it decodes unless told to copy them.
  const values = [{ b: Buffer.from([1, 2, 3]), s: "short" }, { b: Buffer.alloc(300, 7), s: "y".repeat(200) }, { b: Buffer.from([9, 9]), n: -0.5 }];
  const frames = values.map((v) => encode(v));
  expect(frames.map((f) => f.length < 140)).toEqual([true, false, true]);
  // Frames at odd offsets inside one image, as a journal holds them.
  const image = Buffer.concat(frames.flatMap((f) => [Buffer.from([0xff]), f]));
  let at = 0;
  const decoded = frames.map((f) => {
    const v = decodeAt(image, at + 1, at + 1 + f.length);
    at += 1 + f.length;
    return v;
  });
  expect(decoded).toEqual(values);
  // The first value's bytes are its own, not the scratch space the third frame was decoded in.
  expect((decoded[0] as { b: Buffer }).b).toEqual(Buffer.from([1, 2, 3]));
});

/**
 * `a` and `b` are the same decoded value: same prototypes, own keys in the same order with the same descriptors,
 * -0 and NaN as they are, and shared references shared alike (`pairs` maps each object of `a` to its twin in `b`).
 */
function sameDecoded(a: unknown, b: unknown, path = "$", pairs = new Map<object, unknown>()): void {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
    if (!Object.is(a, b)) throw new Error(`${path}: ${String(a)} vs ${String(b)}`);
    return;
  }
  if (pairs.has(a)) {
    if (pairs.get(a) !== b) throw new Error(`${path}: a shared reference is not shared alike`);
    return;
  }
  pairs.set(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) throw new Error(`${path}: prototypes differ`);
  // A replayed Response's own properties are body readers made for it: it is compared by what they read.
  const text = (v: object) =>
    v instanceof Date ? String(v.getTime())
    : v instanceof URL ? v.href
    : v instanceof Headers ? JSON.stringify([...v])
    : v instanceof Response ? JSON.stringify([v.status, v.statusText, v.url, [...v.headers], Reflect.ownKeys(v).map(String)])
    : "";
  if (text(a) !== text(b)) throw new Error(`${path}: ${text(a)} vs ${text(b)}`);
  if (a instanceof Response) return;
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const bytes = (v: object) => Buffer.from(v instanceof ArrayBuffer ? v : (v as Uint8Array).buffer, v instanceof ArrayBuffer ? 0 : (v as Uint8Array).byteOffset, (v as Uint8Array).byteLength);
    if (!bytes(a).equals(bytes(b as object))) throw new Error(`${path}: bytes differ`);
    return;
  }
  if (a instanceof Map || a instanceof Set) {
    const left = [...a.entries()];
    const right = [...(b as Map<unknown, unknown>).entries()];
    if (left.length !== right.length) throw new Error(`${path}: sizes differ`);
    left.forEach(([k, v], i) => {
      sameDecoded(k, right[i][0], `${path}<key ${i}>`, pairs);
      sameDecoded(v, right[i][1], `${path}<entry ${i}>`, pairs);
    });
  }
  const keys = Reflect.ownKeys(a);
  expect(Reflect.ownKeys(b), path).toEqual(keys);
  for (const key of keys) {
    const da = Object.getOwnPropertyDescriptor(a, key)!;
    const db = Object.getOwnPropertyDescriptor(b, key)!;
    expect([db.enumerable, db.writable, db.configurable], `${path}.${String(key)}`).toEqual([da.enumerable, da.writable, da.configurable]);
    sameDecoded(da.value, db.value, `${path}.${String(key)}`, pairs);
  }
}

/**
 * Frames that start with a record definition are decoded through the definitions met before (codec.ts): every frame
 * is decoded several times (the first meets its definition, the next ones find it, and msgpackr compiles the
 * structure's reader after a few) at an odd offset of an image, and must give what msgpackr gives for its bytes.
 */
function decodesAsMsgpackr(frame: Buffer): void {
  const image = Buffer.concat([Buffer.from([0x4d]), frame, Buffer.from([0x4d])]);
  const expected = decode(frame);
  for (let i = 0; i < 4; i++) sameDecoded(decodeAt(image, 1, 1 + frame.length), expected);
}

test("a frame that starts with a record definition met before decodes as msgpackr decodes it (property)", () => {
  let defined = 0;
  // Few keys, so shapes repeat (no `__proto__`: fast-check would set the prototype); values of every kind, records among them.
  const shape = fc.dictionary(fc.constantFrom("id", "ok", "name", "1", "a-b", "x".repeat(40), "é"), fc.oneof(data, fc.integer(), fc.string({ maxLength: 8 })), { minKeys: 1, maxKeys: 5 });
  fc.assert(
    fc.property(fc.oneof({ arbitrary: shape, weight: 4 }, fc.array(shape, { maxLength: 3 }), data), (v) => {
      const frame = encode(project(v, SITE).value);
      if (frame[0] === 0xd4 && frame[1] === 0x72 && frame.length < 140) defined++;
      decodesAsMsgpackr(frame);
    }),
    { numRuns: 1000 },
  );
  expect(defined).toBeGreaterThan(300);
});

test("hand-picked frames that start with a record definition decode as msgpackr decodes them", async () => {
  const shared = { s: "shared" };
  const response = await prepare(new Response("body", { status: 201, headers: { a: "1" } }));
  const values: unknown[] = [
    { id: 1, ok: true, name: "item-1" },
    JSON.parse('{"__proto__": 1, "a": 2}'),
    { b: 1, 2: "two", a: [1, 2] },
    Object.assign(Object.create(null), { n: null, u: undefined }),
    { n: -0, f: 0.1, big: 2n ** 64n, neg: -(2n ** 63n), i: 2 ** 53, m: -(2 ** 31), nan: NaN, inf: -Infinity },
    { d: new Date(0), bad: new Date(NaN), e: Object.assign(new TypeError("t", { cause: 1 }), { code: "E1" }) },
    { b: Buffer.from([1, 2, 3]), u: new Uint8Array([4]), f: new Float64Array([0.5]), ab: new Uint8Array([7]).buffer },
    { m: new Map<unknown, unknown>([["k", 1], [2, { v: 1 }]]), s: new Set([1, "a"]) },
    { r: /x+/gi, url: new URL("https://a.example/p?q=1"), h: new Headers({ a: "1" }) },
    { a: shared, b: shared, c: [shared] },
    { nested: { deeper: { deepest: { id: 2 } } }, list: [{ id: 1 }, { id: 2 }, { other: 3 }] },
    { s0: "", s31: "s".repeat(31), s32: "s".repeat(32), u: "ü😀" },
    { long: "l".repeat(130) },
    { k: 1, ["k".repeat(31)]: 2, ["k".repeat(32)]: 3 },
    Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
    { r: response, ok: true },
  ];
  const frames = values.map((v) => encode(project(v, SITE).value));
  expect(frames.filter((f) => f[0] === 0xd4 && f[1] === 0x72 && f.length < 140).length).toBeGreaterThan(12);
  for (const frame of frames) decodesAsMsgpackr(frame);
  // In turn, after every one was met.
  for (const frame of frames) decodesAsMsgpackr(frame);
  const replayed = (decodeAt(frames.at(-1)!, 0, frames.at(-1)!.length) as { r: Response }).r;
  expect(await replayed.text()).toBe("body");
});

test("the known-definition path takes exactly a one-byte id of the frame's own with string keys, and decodes those as msgpackr does", () => {
  const str = (k: string) => (k.length < 32 ? [0xa0 + k.length] : [0xd9, k.length]).concat([...Buffer.from(k)]);
  const frame = (id: number, keys: string[], values: number[]) => {
    const count = keys.length < 16 ? [0x90 + keys.length] : [0xdc, keys.length >> 8, keys.length & 0xff];
    return Buffer.from([0xd4, 0x72, id, ...count, ...keys.flatMap(str), ...values]);
  };
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);
  const taken = [
    frame(0x4d, ["a"], [1]),
    frame(0x7f, ["a"], [1]),
    frame(0x4d, [], []),
    frame(0x4d, keys(15), keys(15).map((_, i) => i)),
    frame(0x4d, keys(16), keys(16).map((_, i) => i)),
    frame(0x4d, ["", "s".repeat(31), "t".repeat(32)], [1, 2, 3]),
  ];
  for (const bytes of taken) {
    const want = decode(bytes);
    // Twice: met, then known.
    for (let i = 0; i < 2; i++) expect(decodeKnown(bytes, 0, bytes.length)).toEqual(want);
  }
  const left = [
    frame(0x4c, ["a"], [1]), // a shared structure's id
    frame(0x80, ["a"], [1]), // past the one-byte ids
    Buffer.from([0xd4, 0x72, 0x4d, 0x81, 0xa1, 0x61, 0x01]), // not an array of keys
    Buffer.from([0xd4, 0x72, 0x4d, 0xdd, 0, 0, 0, 1, 0xa1, 0x61, 0x01]), // an array32 of keys
    Buffer.from([0xd4, 0x72, 0x4d, 0x91, 0x01, 0x01]), // a key that is not a string
    Buffer.from([0xd4, 0x72, 0x4d, 0x91, 0x01, 0x00, 0x05]), // the same, with bytes after it that would pass for a str8
    Buffer.from([0xd4, 0x72, 0x4d, 0x92, 0xa1, 0x61]), // a key missing at the end
    Buffer.from([0xd4, 0x72, 0x4d, 0x91, 0xa5, 0x61]), // a key's length past the end
    Buffer.from([0xd4, 0x72, 0x4d, 0x91, 0xd9]), // a str8 key's length byte past the end
  ];
  for (const bytes of left) expect(decodeKnown(bytes, 0, bytes.length)).toBe(UNKNOWN);
  // What it leaves, decodeAt decodes as msgpackr does, or fails where msgpackr fails (a truncated frame read from
  // decodeAt's scratch copy fails with another class of error).
  for (const bytes of left) {
    const outcome = (f: () => unknown) => {
      try {
        return { value: f() };
      } catch {
        return { failed: true };
      }
    };
    expect(outcome(() => decodeAt(bytes, 0, bytes.length))).toEqual(outcome(() => decode(bytes)));
  }
  // Within a larger buffer: the bounds given, not the buffer's, end the frame.
  const inner = frame(0x4d, ["a", "b"], [1, 2]);
  const wide = Buffer.concat([Buffer.from([9, 9]), inner, Buffer.from([0xa1, 0x62, 7])]);
  expect(decodeKnown(wide, 2, 2 + inner.length)).toEqual({ a: 1, b: 2 });
  expect(decodeKnown(wide, 2, 2 + inner.length - 3)).toBe(UNKNOWN);
});

test("a frame that defines a record under a shared structure's id changes that structure for itself only", () => {
  const record = { t: "activity", seq: 1, async: true, end: 2, site: "s", callee: "c", ok: true, start: 1, value: 5 };
  const bytes = encode(record);
  // The activity record's shared structure, redefined as a record of one key by a crafted frame.
  const crafted = Buffer.from([0xd4, 0x72, bytes[0], 0x91, 0xa1, 0x61, 0x01]);
  for (const read of [(b: Buffer) => decode(b), (b: Buffer) => decodeAt(b, 0, b.length)]) {
    expect(read(crafted)).toEqual({ a: 1 });
    expect(read(bytes)).toEqual(record);
  }
  expect(decodeKnown(crafted, 0, crafted.length)).toBe(UNKNOWN);
  expect(decodeAt(bytes, 0, bytes.length)).toEqual(record);
});

test("a definition met before never answers another one under the same id, nor one read since into the buffer it was met in", () => {
  const first = encode({ a: 1, b: 2 });
  const second = encode({ a: 1, c: 2 });
  // Same id, same length: only a key's bytes differ.
  expect(second.subarray(0, 3)).toEqual(first.subarray(0, 3));
  expect(second.length).toBe(first.length);
  for (let i = 0; i < 4; i++) expect(decodeAt(first, 0, first.length)).toEqual({ a: 1, b: 2 });
  expect(decodeAt(second, 0, second.length)).toEqual({ a: 1, c: 2 });
  expect(decodeAt(first, 0, first.length)).toEqual({ a: 1, b: 2 });
  // One buffer read into again and again (an image reused for other journals): what was met in it is not its bytes of
  // now. More definitions than the table has places, so one lands where one met in this buffer is.
  const image = Buffer.alloc(first.length + 8);
  for (let i = 100; i < 165; i++) {
    const frame = encode({ x: 1, [`k${i}`]: 2 });
    frame.copy(image);
    expect(decodeAt(image, 0, frame.length)).toEqual({ x: 1, [`k${i}`]: 2 });
  }
});

test("a frame's own nested definitions do not outlive it: the next frame's reference to that id reads as msgpackr reads it", () => {
  // {a: {}}, the inner record defined (with no keys) as 0x4e; then {c: <0x4e>}, whose 0x4e no definition of its own
  // frame names: msgpackr reads the byte as a number. (Read as the earlier record, it would take no more bytes.)
  const nested = Buffer.from([0xd4, 0x72, 0x4d, 0x91, 0xa1, 0x61, 0xd4, 0x72, 0x4e, 0x90]);
  const next = Buffer.from([0xd4, 0x72, 0x4d, 0x91, 0xa1, 0x63, 0x4e]);
  for (let i = 0; i < 4; i++) {
    expect(decodeAt(nested, 0, nested.length)).toEqual({ a: {} });
    expect(decodeAt(next, 0, next.length)).toEqual(decode(next));
  }
  expect(decode(next)).toEqual({ c: 0x4e });
  // A frame whose own first id is past the first: an earlier frame's first id (a record of no keys) is not its own.
  const empty = Buffer.from([0xd4, 0x72, 0x4d, 0x90]);
  const later = Buffer.from([0xd4, 0x72, 0x4e, 0x91, 0xa1, 0x62, 0x4d]);
  for (let i = 0; i < 4; i++) {
    expect(decodeAt(empty, 0, empty.length)).toEqual({});
    expect(decodeAt(later, 0, later.length)).toEqual({ b: 0x4d });
  }
});

test("a damaged frame that starts with a known definition fails, and the frames after it decode as before", () => {
  const frame = encode({ id: 1, name: "x" });
  decodesAsMsgpackr(frame);
  const cut = frame.subarray(0, frame.length - 1);
  expect(() => decode(cut)).toThrow();
  expect(() => decodeAt(cut, 0, cut.length)).toThrow();
  decodesAsMsgpackr(frame);
});

/** A number msgpackr writes in each of its forms: fixint, u8, u16, u32, negative ones, doubles (a timestamp too). */
const anyNumber = fc.oneof(
  fc.constantFrom(0, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -(2 ** 31), 1765000000000, 0.5, -0, NaN, Infinity),
  fc.integer({ min: 0, max: 2 ** 32 }),
  fc.integer(),
  fc.double(),
);

test("an activity record in the stub's layout encodes to msgpackr's own bytes for the whole record (property)", () => {
  fc.assert(
    fc.property(anyNumber, fc.boolean(), anyNumber, fc.string({ maxLength: 120, unit: "binary" }), fc.string({ maxLength: 120, unit: "binary" }), fc.boolean(), anyNumber, data, (seq, async, end, site, callee, ok, start, v) => {
      const outcome = project(v, SITE).value;
      const rec = ok ? { t: "activity", seq, async, end, site, callee, ok, start, value: outcome } : { t: "activity", seq, async, end, site, callee, ok, start, error: outcome };
      const whole = encodeWithHeadroom(rec, 8).subarray(8);
      const fast = encodeActivityWithHeadroom(rec, 8);
      // Undefined only when the fields before the outcome do not fit the headroom (the caller then encodes it whole).
      if (fast === undefined) expect(whole.length).toBeGreaterThan(0xff - 8 - 1);
      else expect(Buffer.from(fast.subarray(8))).toEqual(Buffer.from(whole));
    }),
    { numRuns: 600 },
  );
});

test("an activity outcome with shared references and cycles encodes as in the whole record; other shapes are left to msgpackr", () => {
  const shared = { id: 1 };
  const cyclic: Record<string, unknown> = { name: "c" };
  cyclic.self = cyclic;
  for (const value of [{ a: shared, b: [shared, shared] }, cyclic, [cyclic, shared, cyclic]]) {
    const rec = { t: "activity", seq: 3, async: false, end: 5, site: "a.ts:1:1", callee: "f", ok: true, start: 4, value };
    expect(Buffer.from(encodeActivityWithHeadroom(rec, 8)!.subarray(8))).toEqual(Buffer.from(encodeWithHeadroom(rec, 8).subarray(8)));
  }
  const error = project(Object.assign(new TypeError("bad", { cause: shared }), { code: "E1", detail: shared }), SITE).value;
  const failed = { t: "activity", seq: 300, async: true, end: 1765000000000, site: "a.ts:1:1", callee: "f", ok: false, start: 1765000000000, error };
  expect(Buffer.from(encodeActivityWithHeadroom(failed, 8)!.subarray(8))).toEqual(Buffer.from(encodeWithHeadroom(failed, 8).subarray(8)));
  const base = { t: "activity", seq: 3, async: false, end: 5, site: "a.ts:1:1", callee: "f", ok: true, start: 4, value: 1 };
  expect(encodeActivityWithHeadroom({ ...base, extra: 1 }, 8)).toBeUndefined();
  expect(encodeActivityWithHeadroom({ t: "activity", seq: 3, site: "a.ts:1:1", callee: "f", ok: true, value: 1, async: false, start: 4, end: 5 }, 8)).toBeUndefined();
  expect(encodeActivityWithHeadroom({ ...base, seq: 3n }, 8)).toBeUndefined();
  expect(encodeActivityWithHeadroom({ ...base, t: "sleep" }, 8)).toBeUndefined();
  expect(encodeActivityWithHeadroom(Object.assign(Object.create(null), base), 8)).toBeUndefined();
  expect(encodeActivityWithHeadroom({ ...base, site: "x".repeat(300) }, 8)).toBeUndefined();
  // The same site under another callee (a cache by site must not answer for it).
  const other = { ...base, callee: "g" };
  expect(Buffer.from(encodeActivityWithHeadroom(other, 8)!.subarray(8))).toEqual(Buffer.from(encodeWithHeadroom(other, 8).subarray(8)));
});

test("encodeWithHeadroom puts the bytes asked for before the value's, and each buffer stays whole as the encoder moves on", () => {
  const first = encodeWithHeadroom({ n: 1, s: "one" }, 8);
  const second = encodeWithHeadroom("two", 5);
  expect(first.subarray(8)).toEqual(encode({ n: 1, s: "one" }));
  expect(second.subarray(5)).toEqual(encode("two"));
  expect(decode(first.subarray(8))).toEqual({ n: 1, s: "one" });
});

test("a response keeps its URL, and every null-body status (204, 205, 304) comes back with no body", async () => {
  const live = new Response("x");
  Object.defineProperty(live, "url", { value: "https://api.example/a" });
  const back = decode(encode(project(await prepare(live), SITE).value)) as Response;
  expect(back.url).toBe("https://api.example/a");
  // Read once, it can still be cloned, and its clone read any number of times; it has no body reader the live
  // class lacks.
  expect(await back.text()).toBe("x");
  const copy = back.clone();
  expect(await copy.text()).toBe("x");
  expect(await copy.text()).toBe("x");
  for (const reader of ["arrayBuffer", "blob", "bytes", "formData", "json", "text"]) expect(reader in back).toBe(reader in live);
  for (const status of [204, 205, 304]) {
    const back = decode(encode(project(await prepare(new Response(null, { status })), SITE).value)) as Response;
    expect(back.status).toBe(status);
    expect(back.body).toBeNull();
  }
});

test("responses inside maps and sets are buffered too, and binary data beside them is kept", async () => {
  const prepared = await prepare({ m: new Map([["r", new Response("in a map")]]), s: new Set([new Response("in a set")]), b: Buffer.from("z") });
  const back = decode(encode(project(prepared, SITE).value)) as { m: Map<string, Response>; s: Set<Response>; b: Buffer };
  expect(await back.m.get("r")!.text()).toBe("in a map");
  expect(await [...back.s][0].text()).toBe("in a set");
  expect(Buffer.from(back.b).toString()).toBe("z");
});

test("a Response held by an error, or by its cause, is buffered; the error stays an error of its class, the live one untouched", async () => {
  class HTTPError extends TypeError {
    response = new Response("denied", { status: 403 });
  }
  const live = new HTTPError("403", { cause: { res: new Response("cause body") } });
  expect(holdsResponse(live)).toBe(true);
  const prepared = (await prepare(live)) as HTTPError;
  expect(prepared).not.toBe(live);
  expect(prepared).toBeInstanceOf(HTTPError);
  expect([prepared.message, prepared.stack]).toEqual([live.message, live.stack]);
  expect(live.response).toBeInstanceOf(Response);
  expect(await live.response.text()).toBe("denied");
  const back = decode(encode(project(prepared, SITE).value)) as HTTPError & { cause: { res: Response } };
  expect(back).toBeInstanceOf(TypeError);
  expect(back.name).toBe("HTTPError");
  expect(back.message).toBe("403");
  expect(back.response.status).toBe(403);
  expect(await back.response.text()).toBe("denied");
  expect(await back.cause.res.text()).toBe("cause body");
  const plain = new RangeError("no response");
  expect(holdsResponse(plain)).toBe(false);
  expect(await prepare(plain)).toBe(plain);
});

test("only an object with both on() and emit() is a live handle: one of them alone is data with a method dropped", () => {
  class Point {
    constructor(readonly x: number) {}
  }
  const value = { listener: { on() {}, id: 1 }, sender: { emit() {}, id: 2 }, point: new Point(3), map: new Map([[1, new Point(4)]]), emitter: new EventEmitter() };
  const { value: out, dropped } = project(value, SITE);
  expect(out).toEqual({ listener: { id: 1 }, sender: { id: 2 }, point: { x: 3 }, map: new Map([[1, { x: 4 }]]) });
  expect(dropped).toEqual(["$.listener.on", "$.sender.emit", "$.point (Point → plain object)", '$.map.get(1) (Point → plain object)', "$.emitter (live EventEmitter)"]);
});

test("a function as the whole result is dropped: the journal keeps undefined", () => {
  expect(project(() => 1, SITE)).toEqual({ value: undefined, dropped: ["$"] });
});

test("projection keeps undefined beside what it projects, names prototypes without a constructor, and refuses a live handle as the whole result", () => {
  const bare = Object.assign(Object.create(Object.create(null)), { x: 1 });
  const { value, dropped } = project({ u: undefined, bare, f: () => 1 }, SITE);
  expect(dropped).toEqual(["$.bare (object → plain object)", "$.f"]);
  const back = decode(encode(value)) as Record<string, unknown>;
  expect("u" in back && back.u === undefined).toBe(true);
  expect(back.bare).toEqual({ x: 1 });
  expect(() => project(new net.Socket(), SITE)).toThrow("a live Socket (stream, socket or process handle)");
  // A handle without a constructor to name it is called what every such handle is.
  expect(() => project(Object.assign(Object.create(null), { on() {}, emit() {} }), SITE)).toThrow("a live EventEmitter (stream, socket or process handle)");
});

test("an error whose prototype chain hides a constructor still finds its built-in class", () => {
  const err = new Error("odd");
  Object.setPrototypeOf(err, Object.create(RangeError.prototype, { constructor: { value: undefined } }));
  const back = roundTrip(err) as Error;
  expect(back).toBeInstanceOf(RangeError);
  expect(back.message).toBe("odd");
});

test("an error's own name wins over its class's", () => {
  class Upstream extends Error {}
  const err = new Upstream("down");
  err.name = "ServiceUnavailable";
  const plain = new TypeError("t");
  plain.name = "Renamed";
  const back = roundTrip({ err, plain }) as Record<string, Error>;
  expect(back.err.name).toBe("ServiceUnavailable");
  expect(back.plain.name).toBe("Renamed");
  expect(back.plain).toBeInstanceOf(TypeError);
});

test("a restored error's name and stack can be set and redefined, as the original's can (a handler that rethrows with its own)", () => {
  const err = new TypeError("t");
  err.name = "Renamed";
  const back = roundTrip(err) as Error;
  expect(back.stack).toBe(err.stack);
  back.name = "Again";
  back.stack = "at elsewhere";
  expect([back.name, back.stack]).toEqual(["Again", "at elsewhere"]);
  Object.defineProperty(back, "name", { get: () => "Defined" });
  Object.defineProperty(back, "stack", { get: () => "defined" });
  expect([back.name, back.stack]).toEqual(["Defined", "defined"]);
});

test("projection copies only what it keeps: no key beyond the kept ones, maps whose later entries are dropped, objects without a prototype as they are", () => {
  const bare = Object.assign(Object.create(null), { a: 1 });
  const { value, dropped } = project({ a: 1, bare, m: new Map<string, unknown>([["kept", 1], ["fn", () => 1]]), f() {} }, SITE);
  const out = value as { a: number; bare: object; m: Map<string, unknown> };
  expect(Object.keys(out)).toEqual(["a", "bare", "m"]);
  expect(out.bare).toBe(bare);
  expect([...out.m]).toEqual([["kept", 1]]);
  expect(dropped).toEqual(['$.m.get("fn")', "$.f"]);
});

test("an error's parts are projected: its cause, an AggregateError's errors, its own properties; what is kept stays", () => {
  const withFn = Object.assign(new Error("fn"), { retry: () => 1 });
  const fnCause = new Error("cause is a function", { cause: () => 1 });
  const kept = Object.assign(new Error("kept cause", { cause: "c" }), { retry: () => 1 });
  const aggregate = new AggregateError([() => 1, new Error("x")], "many");
  const { value, dropped } = project({ withFn, fnCause, kept, aggregate }, SITE);
  expect(dropped).toEqual(["$.withFn.retry", "$.fnCause.cause", "$.kept.retry", "$.aggregate.errors[0]"]);
  const back = decode(encode(value)) as Record<string, Error & { cause?: unknown; errors?: unknown[] }>;
  expect(Object.keys(back.withFn)).toEqual([]);
  expect(back.fnCause.cause).toBeUndefined();
  expect(back.kept.cause).toBe("c");
  expect(back.aggregate.errors).toHaveLength(2);
  expect(back.aggregate.errors![0]).toBeUndefined();
  expect(back.aggregate.errors![1]).toBeInstanceOf(Error);
});

test("holdsResponse looks through class instances holding strings, nulls and cycles without looping", () => {
  class Box {
    s = "text";
    n = null;
    self: unknown = this;
    constructor(readonly inner?: unknown) {}
  }
  expect(holdsResponse(new Box())).toBe(false);
  expect(holdsResponse(new Box(new Response("r")))).toBe(true);
});

test("prepare keeps what lies beside a Response: nulls, arrays as arrays, an error's getters", async () => {
  const err = Object.defineProperty(Object.assign(new Error("e"), { response: new Response("body") }), "retryAfter", { get: () => 5, enumerable: true });
  const out = (await prepare({ n: null, list: [new Response("a")], err })) as { n: null; list: unknown[]; err: Error & { retryAfter: number } };
  expect(out.n).toBeNull();
  expect(Array.isArray(out.list)).toBe(true);
  expect(out.err).toBeInstanceOf(Error);
  expect(out.err.retryAfter).toBe(5);
});

import { afterEach, beforeEach, expect, test } from "vitest";
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { decodeFrames, encodeFrame, FRAME_OVERHEAD, HEADER_SIZE, JOURNAL_VERSION, readJournal, type JournalRecord } from "../runtime/journal";
import { LazyActivities } from "../runtime/lazy-record";
import { ACTIVITY_STRUCTURES } from "../runtime/codec";
import { JournalCorruptError } from "../runtime/errors";
import { crc32Range, frameWord, PAYLOAD_START } from "../runtime/crc";
import { tempDir, writeJournalFile } from "./helpers";

let dir: string;
beforeEach(() => (dir = tempDir("lazy")));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function header(): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.write("AKTSJNL\0", "latin1");
  h.writeUInt32LE(JOURNAL_VERSION, 8);
  return h;
}

const image = (records: JournalRecord[]) => Buffer.concat([header(), ...records.map(encodeFrame)]);

const RECORDS: JournalRecord[] = [
  { t: "attempt", attempt: 1, at: 5 },
  { t: "activity", seq: 1, async: false, end: 1712345678001, site: "p.ts:3:1", callee: "api.get", ok: true, start: 1712345678000, value: { id: 7, tags: ["a"] } },
  { t: "timer", seq: 2, site: "<akts>:sleep", deadline: 9 },
  { t: "activity", seq: 300, async: true, end: 12, site: "p.ts:4:1", callee: "api.put", ok: false, start: 11, error: new Error("no") },
  { t: "activity", seq: 70000, async: true, end: -3, site: "p.ts:5:1", callee: "api.del", ok: true, start: 2.5, value: null },
];

type Activity = Extract<JournalRecord, { t: "activity" }>;

/** The records of a lazy read, decoded and put back in file order. */
function inFileOrder(records: JournalRecord[], activities: LazyActivities | undefined): JournalRecord[] {
  const out: JournalRecord[] = [];
  let next = 0;
  for (let i = 0; i < (activities?.count ?? 0); i++) {
    while (next < activities!.before[i]) out.push(records[next++]);
    out.push(activities!.decode(activities!.at[i]));
  }
  return [...out, ...records.slice(next)];
}

test("activity records are read without their payload, and decode to the same record when asked", () => {
  const { records, activities } = decodeFrames(image(RECORDS), "j", { lazy: true });
  expect(records.map((r) => r.t)).toEqual(["attempt", "timer"]);
  expect(activities!.count).toBe(3);
  const lazy = RECORDS.filter((r): r is Activity => r.t === "activity");
  expect([...activities!.seq.subarray(0, 3)]).toEqual(lazy.map((r) => r.seq));
  expect([...activities!.async.subarray(0, 3)]).toEqual(lazy.map((r) => (r.async ? 1 : 0)));
  expect([...activities!.end.subarray(0, 3)]).toEqual(lazy.map((r) => (r.async ? r.end : 0)));
  expect([...activities!.before.subarray(0, 3)]).toEqual([1, 2, 2]);
  expect(activities!.lastSeq).toBe(70000);
  expect(inFileOrder(records, activities)).toEqual(decodeFrames(image(RECORDS), "j").records);
});

test("activity records in the older field order are decoded whole", () => {
  const old = { t: "activity", seq: 1, site: "p.ts:3:1", callee: "api.get", ok: true, value: 1, async: false, start: 1, end: 2 } as JournalRecord;
  const { records, activities } = decodeFrames(image([old]), "j", { lazy: true });
  expect(activities!.count).toBe(0);
  expect(records).toEqual([old]);
});

test("a checked frame whose payload does not decode fails when its record is decoded, at the frame's offset", () => {
  const good = encodeFrame(RECORDS[1]);
  // Same prefix (structure, t, seq, async, end), then bytes that are not msgpack; the check word is made to match.
  const prefixLength = 1 + 9 + 1 + 1 + 9;
  const payload = Buffer.concat([good.subarray(FRAME_OVERHEAD, FRAME_OVERHEAD + prefixLength), Buffer.from([0xc1, 0xc1, 0xc1])]);
  const frame = Buffer.alloc(FRAME_OVERHEAD + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  payload.copy(frame, FRAME_OVERHEAD);
  frame.writeUInt32LE(frameWord(payload.length, crc32Range(frame, FRAME_OVERHEAD, frame.length, PAYLOAD_START)), 4);
  const file = path.join(dir, "bad");
  fs.writeFileSync(file, Buffer.concat([header(), encodeFrame(RECORDS[0]), frame]));
  const offset = HEADER_SIZE + encodeFrame(RECORDS[0]).length;
  expect(() => readJournal(file)).toThrow(JournalCorruptError);
  const { activities } = readJournal(file, { lazy: true });
  expect(activities!.seq[0]).toBe(1);
  let err: unknown;
  try {
    activities!.decode(activities!.at[0]);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(JournalCorruptError);
  expect((err as JournalCorruptError).offset).toBe(offset);
  expect((err as Error).message).toContain("frame does not decode");
});

test("a lazily read journal keeps only its data, not the space allocated ahead", () => {
  const file = path.join(dir, "j");
  writeJournalFile(file, RECORDS, 64 * 1024);
  const { records, activities, end } = readJournal(file, { lazy: true });
  expect(inFileOrder(records, activities)).toEqual(readJournal(file).records);
  expect((activities as unknown as { buf: Buffer }).buf.length).toBe(end);
});

test("any records read the same lazily and whole (property)", () => {
  const num = fc.oneof(fc.integer({ min: -2147483648, max: 4294967295 }), fc.double({ noNaN: true }), fc.constant(1712345678001));
  const activity = fc
    .record({ seq: fc.integer({ min: 1, max: 2 ** 31 - 1 }), async: fc.boolean(), end: num, start: num, value: fc.jsonValue() })
    .map(({ seq, async, end, start, value }) => ({ t: "activity", seq, async, end, site: "p.ts:1:1", callee: "f", ok: true, start, value }) as JournalRecord);
  const other = fc.oneof(
    fc.nat().map((n) => ({ t: "attempt", attempt: n, at: 1 }) as JournalRecord),
    fc.nat().map((n) => ({ t: "event", seq: n + 1, name: "e", value: n, at: 2, id: "x" }) as JournalRecord),
  );
  fc.assert(
    fc.property(fc.array(fc.oneof(activity, other), { minLength: 1, maxLength: 8 }), (list) => {
      const { records, activities } = decodeFrames(image(list), "j", { lazy: true });
      expect(inFileOrder(records, activities)).toEqual(decodeFrames(image(list), "j").records);
      expect(activities!.count).toBe(list.filter((r) => r.t === "activity").length);
    }),
    { numRuns: 300 },
  );
});

test("seq and end read from the bytes in every integer and float form the encoder writes; any other end is decoded whole", () => {
  const at = (seq: number, end: unknown): JournalRecord => ({ t: "activity", seq, async: true, end: end as number, site: "p.ts:6:1", callee: "api.get", ok: true, start: 0, value: seq });
  // 200: uint8; the ends: int8, int16, int32, float64, a timestamp past 32 bits.
  const records = [at(200, -100), at(201, -1000), at(202, -100000), at(203, 1.5), at(204, 1712345678001), at(205, "late")];
  const { records: whole, activities } = decodeFrames(image(records), "j", { lazy: true });
  expect(activities!.count).toBe(5);
  expect([...activities!.seq.subarray(0, 5)]).toEqual([200, 201, 202, 203, 204]);
  expect([...activities!.end.subarray(0, 5)]).toEqual([-100, -1000, -100000, 1.5, 1712345678001]);
  expect(whole).toEqual([records[5]]);
  expect(activities!.lastSeq).toBe(204);
});

test("a journal whose frames are not all checked at once (a torn tail) still indexes every activity, past the first estimate", () => {
  const records = Array.from({ length: 300 }, (_, i): JournalRecord => ({ t: "activity", seq: i + 1, async: i % 2 === 0, end: i, site: "s", callee: "c", ok: true, start: 0, value: 0 }));
  const full = image(records);
  const torn = Buffer.concat([full, encodeFrame(records[0]).subarray(0, 12)]);
  const { activities, torn: tornBytes } = decodeFrames(torn, "j", { lazy: true });
  expect(tornBytes).toBe(12);
  expect(activities!.count).toBe(300);
  expect([...activities!.seq.subarray(0, 300)]).toEqual(records.map((r) => (r as Activity).seq));
  expect([...activities!.async.subarray(0, 300)]).toEqual(records.map((_, i) => (i % 2 === 0 ? 1 : 0)));
  expect(activities!.decode(activities!.at[299])).toEqual(records[299]);
});

test("an activity record whose seq is no call number, or whose async flag is no boolean, is decoded whole (the replay then refuses it)", () => {
  const at = (seq: number, async: unknown): JournalRecord => ({ t: "activity", seq, async: async as boolean, end: 5, site: "p.ts:7:1", callee: "api.get", ok: true, start: 0, value: null });
  // An empty Map is msgpack 0x80, the first byte past the positive fixints.
  const odd = [at(0, true), at(-4, false), at(2.5, true), at(2 ** 31, false), at(3, "yes"), at(4, 1), at(new Map() as unknown as number, true)];
  const { records, activities } = decodeFrames(image(odd), "j", { lazy: true });
  expect(activities!.count).toBe(0);
  expect(records).toEqual(odd);
});

test("a payload that ends before its seq, or inside it, is not indexed, whatever bytes follow the frame", () => {
  // The activity structure's id and t, then the end of the payload; the bytes after it would read as a seq and a
  // sync flag if the reader looked past the end.
  const prefix = Buffer.concat([Buffer.from([ACTIVITY_STRUCTURES[0], 0xa8]), Buffer.from("activity", "latin1")]);
  // The last case ends after an async flag, before its end.
  for (const [seqBytes, after] of [[[], [0x01, 0xc2]], [[0xcd, 0x01], [0x02, 0xc2]], [[0xce, 0, 0], [1, 2, 0xc2]], [[0xcb, 0x3f, 0xf0], [0, 0, 0, 0, 0, 0xc2]], [[0x01, 0xc3], [0x05]]] as const) {
    const payload = Buffer.concat([prefix, Buffer.from(seqBytes)]);
    const buf = Buffer.concat([Buffer.alloc(FRAME_OVERHEAD), payload, Buffer.from(after)]);
    buf.writeUInt32LE(payload.length, 0);
    const lazy = new LazyActivities(buf, "j", 1);
    expect(lazy.add(0, payload.length, 0)).toBe(false);
    expect(lazy.count).toBe(0);
  }
});

test("the highest seq is kept, in whatever order the activities were journaled; an image that is mostly data is kept as it is", () => {
  const at = (seq: number): JournalRecord => ({ t: "activity", seq, async: false, end: 0, site: "p.ts:8:1", callee: "f", ok: true, start: 0, value: seq });
  const buf = image([at(5), at(9), at(3)]);
  const { activities } = decodeFrames(buf, "j", { lazy: true });
  expect([...activities!.seq.subarray(0, 3)]).toEqual([5, 9, 3]);
  expect(activities!.lastSeq).toBe(9);
  // No space after the data: the image itself is kept, not a copy.
  expect((activities as unknown as { buf: Buffer }).buf).toBe(buf);
});

/** `s` with one of its characters (the first, a middle one, the last) changed to another ASCII one. */
function* otherByte(s: string): Generator<string> {
  for (const i of new Set([0, s.length >> 1, s.length - 1])) {
    if (i >= 0) yield s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ 1) + s.slice(i + 1);
  }
}

test("a record asked for by the site that journaled it decodes only its outcome, to the same record as decoding it whole (property)", () => {
  const num = fc.oneof(fc.integer({ min: -2147483648, max: 4294967295 }), fc.double({ noNaN: true }), fc.constant(1712345678001));
  // Up to str16 lengths; the byte values of printable ASCII.
  const text = fc.string({ minLength: 0, maxLength: 300, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
  const outcome = fc.oneof(
    fc.jsonValue().map((value) => ({ value })),
    fc.string().map((message) => ({ error: new TypeError(message) })),
  );
  const activity = fc
    .record({ seq: fc.integer({ min: 1, max: 2 ** 31 - 1 }), async: fc.boolean(), end: num, start: num, site: text, callee: text, outcome })
    // In the key order the stub writes (the shared structures).
    .map(
      ({ seq, async, end, start, site, callee, outcome }): Activity =>
        "value" in outcome
          ? { t: "activity", seq, async, end, site, callee, ok: true, start, value: outcome.value }
          : { t: "activity", seq, async, end, site, callee, ok: false, start, error: outcome.error },
    );
  fc.assert(
    fc.property(fc.array(activity, { minLength: 1, maxLength: 6 }), (list) => {
      const { activities } = decodeFrames(image(list), "j", { lazy: true });
      expect(activities!.count).toBe(list.length);
      list.forEach((rec, i) => {
        const at = activities!.at[i];
        const answered = activities!.answer(at, { id: rec.site, callee: rec.callee });
        expect(answered).toEqual(activities!.decode(at));
        expect(Object.keys(answered!)).toEqual(Object.keys(activities!.decode(at)));
        // Any other site or callee: decoded whole, by the caller.
        expect(activities!.answer(at, { id: rec.site + "0", callee: rec.callee })).toBeUndefined();
        expect(activities!.answer(at, { id: rec.site, callee: `x${rec.callee}` })).toBeUndefined();
        // Or as long, one byte other: at its start, in its middle or at its end (compared four bytes at a time).
        const others = [...[...otherByte(rec.site)].map((id) => ({ id, callee: rec.callee })), ...[...otherByte(rec.callee)].map((callee) => ({ id: rec.site, callee }))];
        for (const other of others) expect(activities!.answer(at, other)).toBeUndefined();
      });
    }),
    { numRuns: 200 },
  );
});

test("a record whose site or callee is not ASCII, or whose type is not spelled out as `activity`, is left to be decoded whole", () => {
  const rec = (site: string, callee: string): Activity => ({ t: "activity", seq: 1, async: false, end: 2, site, callee, ok: true, start: 1, value: "v" });
  for (const r of [rec("é.ts:1:1", "f"), rec("p.ts:1:1", "日本")]) {
    const { activities } = decodeFrames(image([r]), "j", { lazy: true });
    expect(activities!.answer(activities!.at[0], { id: r.site, callee: r.callee })).toBeUndefined();
    expect(activities!.decode(activities!.at[0])).toEqual(r);
  }
  // The same bytes with `activitx` for its type, the check word made to match: indexed, but not answered.
  const frame = encodeFrame(rec("p.ts:1:1", "f"));
  frame[FRAME_OVERHEAD + 9] = "x".charCodeAt(0);
  frame.writeUInt32LE(frameWord(frame.length - FRAME_OVERHEAD, crc32Range(frame, FRAME_OVERHEAD, frame.length, PAYLOAD_START)), 4);
  const { activities } = decodeFrames(Buffer.concat([header(), frame]), "j", { lazy: true });
  expect(activities!.count).toBe(1);
  expect(activities!.answer(activities!.at[0], { id: "p.ts:1:1", callee: "f" })).toBeUndefined();
  expect(activities!.decode(activities!.at[0])).toMatchObject({ t: "activitx" });
});

test("an answered record whose outcome does not decode fails as decoding it whole does, at the frame's offset", () => {
  const good = encodeFrame({ t: "activity", seq: 1, async: false, end: 2, site: "p.ts:1:1", callee: "f", ok: true, start: 1, value: "v" });
  // Everything up to the outcome (its last 2 bytes: the fixstr "v"), then bytes that are not msgpack.
  const payload = Buffer.concat([good.subarray(FRAME_OVERHEAD, good.length - 2), Buffer.from([0xc1, 0xc1])]);
  const frame = Buffer.alloc(FRAME_OVERHEAD + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  payload.copy(frame, FRAME_OVERHEAD);
  frame.writeUInt32LE(frameWord(payload.length, crc32Range(frame, FRAME_OVERHEAD, frame.length, PAYLOAD_START)), 4);
  const { activities } = decodeFrames(Buffer.concat([header(), frame]), "j", { lazy: true });
  const failure = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err as JournalCorruptError;
    }
    throw new Error("decoded");
  };
  const answered = failure(() => activities!.answer(activities!.at[0], { id: "p.ts:1:1", callee: "f" }));
  expect(answered).toBeInstanceOf(JournalCorruptError);
  expect(answered.offset).toBe(HEADER_SIZE);
  expect(answered.message).toContain("frame does not decode");
  expect(failure(() => activities!.decode(activities!.at[0])).offset).toBe(HEADER_SIZE);
});

test("a site object given another id or callee since it was last asked for is compared by what it holds now", () => {
  const r: Activity = { t: "activity", seq: 1, async: false, end: 2, site: "p.ts:1:1", callee: "f", ok: true, start: 1, value: "v" };
  const { activities } = decodeFrames(image([r]), "j", { lazy: true });
  const site = { id: "p.ts:1:1", callee: "f" };
  expect(activities!.answer(activities!.at[0], site)).toEqual(r);
  site.callee = "g";
  expect(activities!.answer(activities!.at[0], site)).toBeUndefined();
  site.callee = "f";
  site.id = "p.ts:2:1";
  expect(activities!.answer(activities!.at[0], site)).toBeUndefined();
});

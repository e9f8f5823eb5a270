import { expect, test } from "vitest";
import fc from "fast-check";
import { crc32 } from "node:zlib";
import { crc32Range, frameWord, PAYLOAD_START, RESIDUE } from "../runtime/crc";

test("crc32Range is zlib's crc32 of the range, continued from init, at every length (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 700 }), fc.nat(), fc.nat(), fc.nat({ max: 0xffffffff }), (bytes, a, b, init) => {
      const buf = Buffer.from(bytes);
      const start = buf.length ? a % (buf.length + 1) : 0;
      const end = start + (b % (buf.length - start + 1));
      // zlib answers 0 for a buffer with no memory behind it (an empty one made from an empty array): an empty
      // range continues nothing, so its crc is `init`.
      expect(crc32Range(buf, start, end, init)).toBe(end > start ? crc32(buf.subarray(start, end), init) : init);
    }),
    { numRuns: 2000 },
  );
  // The check value of CRC-32/ISO-HDLC.
  expect(crc32Range(Buffer.from("123456789"), 0, 9, 0)).toBe(0xcbf43926);
});

test("a frame with its check word has the crc RESIDUE, and so has a run of such frames; any changed byte breaks it (property)", () => {
  const frame = (payload: Uint8Array) => {
    const f = Buffer.alloc(8 + payload.length);
    f.writeUInt32LE(payload.length, 0);
    f.set(payload, 8);
    f.writeUInt32LE(frameWord(payload.length, crc32(payload, PAYLOAD_START)), 4);
    return f;
  };
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 1500 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (payloads, at, flip) => {
      const frames = payloads.map(frame);
      for (const f of frames) expect(crc32(f, RESIDUE)).toBe(RESIDUE);
      const run = Buffer.concat(frames);
      expect(crc32(run, RESIDUE)).toBe(RESIDUE);
      run[at % run.length] ^= flip;
      expect(crc32(run, RESIDUE)).not.toBe(RESIDUE);
    }),
    { numRuns: 500 },
  );
  // RESIDUE is what any bytes followed by their own crc32 (little endian) come to.
  const word = Buffer.alloc(4);
  word.writeUInt32LE(crc32("123456789", 7));
  expect(crc32(Buffer.concat([Buffer.from("123456789"), word]), 7)).toBe(RESIDUE);
});

test("the check word of a payload longer than any table built so far (a length with its high bits set)", () => {
  // frameWord undoes `length + 4` zero bytes with one table per set bit: a length near 2^32 uses the last ones.
  // Its payload is not materialized: a payload of zeros leaves a zero register where it started from zero.
  const length = 0xfffffff0;
  const payloadCrc = ~0 >>> 0; // crc32 of any run of zeros from PAYLOAD_START: the register stays zero
  const word = frameWord(length, payloadCrc);
  // Check it the long way round: run the frame's head, then advance over the zeros by squaring, as zlib's
  // crc32_combine does, and compare with RESIDUE.
  const head = Buffer.alloc(8);
  head.writeUInt32LE(length >>> 0, 0);
  head.writeUInt32LE(word, 4);
  expect(advanceZeros(~crc32(head, RESIDUE) >>> 0, length)).toBe(~RESIDUE >>> 0);
});

/** The crc register after `bytes` more zero bytes (GF(2) matrix squaring, as zlib's crc32_combine). */
function advanceZeros(register: number, bytes: number): number {
  const apply = (m: number[], v: number) => {
    let r = 0;
    for (let j = 0; v !== 0; j++, v >>>= 1) if (v & 1) r ^= m[j];
    return r >>> 0;
  };
  // One zero bit: shift right, xor the polynomial when the low bit was set.
  let m = Array.from({ length: 32 }, (_, j) => (j === 0 ? 0xedb88320 : (1 << (j - 1)) >>> 0));
  for (let k = 0; k < 3; k++) m = m.map((c) => apply(m, c)); // one zero byte
  let r = register >>> 0;
  for (let k = bytes; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) r = apply(m, r);
    m = m.map((c) => apply(m, c));
  }
  return r;
}

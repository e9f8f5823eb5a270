import { expect, test } from "vitest";
import fc from "fast-check";
import { crc32 } from "node:zlib";
import { crc32Range } from "../runtime/crc";

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

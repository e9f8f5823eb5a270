/**
 * CRC-32 (ISO-HDLC, zlib's) of a byte range, continued from `init` as zlib's `crc32(data, value)` is. Most
 * journal frames are small, and for them a call into zlib (plus the view it needs) costs more than this
 * slice-by-8 table loop; past SMALL bytes zlib's vectorized code wins, so it takes over.
 */
import { crc32 } from "node:zlib";

const SMALL = 512;

/** Eight 256-entry tables, one after the other: table k advances the crc by k more zero bytes. */
const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let k = 1; k < 8; k++) T[k * 256 + n] = (T[(k - 1) * 256 + n] >>> 8) ^ T[T[(k - 1) * 256 + n] & 0xff];
}

export function crc32Range(buf: Uint8Array, start: number, end: number, init: number): number {
  if (end - start > SMALL) return crc32(buf.subarray(start, end), init);
  let c = ~init;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    const hi = buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24);
    c =
      T[1792 + (c & 0xff)] ^ T[1536 + ((c >>> 8) & 0xff)] ^ T[1280 + ((c >>> 16) & 0xff)] ^ T[1024 + (c >>> 24)] ^
      T[768 + (hi & 0xff)] ^ T[512 + ((hi >>> 8) & 0xff)] ^ T[256 + ((hi >>> 16) & 0xff)] ^ T[hi >>> 24];
  }
  for (; i < end; i++) c = T[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

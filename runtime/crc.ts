/**
 * CRC-32 (ISO-HDLC, zlib's) of a byte range, continued from `init` as zlib's `crc32(data, value)` is. Most
 * journal frames are small, and for them a call into zlib (plus the view it needs) costs more than this
 * slice-by-16 table loop; past SMALL bytes zlib's vectorized code wins, so it takes over.
 */
import { crc32 } from "node:zlib";

const SMALL = 512;

/** Sixteen 256-entry tables, one after the other: table k advances the crc by k more zero bytes. */
const T = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let k = 1; k < 16; k++) T[k * 256 + n] = (T[(k - 1) * 256 + n] >>> 8) ^ T[T[(k - 1) * 256 + n] & 0xff];
}

export function crc32Range(buf: Uint8Array, start: number, end: number, init: number): number {
  if (end - start > SMALL) return crc32(buf.subarray(start, end), init);
  let c = ~init;
  let i = start;
  for (; i + 16 <= end; i += 16) {
    c ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    c =
      T[3840 + (c & 0xff)] ^ T[3584 + ((c >>> 8) & 0xff)] ^ T[3328 + ((c >>> 16) & 0xff)] ^ T[3072 + (c >>> 24)] ^
      T[2816 + buf[i + 4]] ^ T[2560 + buf[i + 5]] ^ T[2304 + buf[i + 6]] ^ T[2048 + buf[i + 7]] ^
      T[1792 + buf[i + 8]] ^ T[1536 + buf[i + 9]] ^ T[1280 + buf[i + 10]] ^ T[1024 + buf[i + 11]] ^
      T[768 + buf[i + 12]] ^ T[512 + buf[i + 13]] ^ T[256 + buf[i + 14]] ^ T[buf[i + 15]];
  }
  for (; i < end; i++) c = T[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-32 (ISO-HDLC, zlib's) of a byte range, continued from `init` as zlib's `crc32(data, value)` is. Most
 * journal frames are small, and for them a call into zlib (plus the view it needs) costs more than this
 * slice-by-16 table loop; past SMALL bytes zlib's vectorized code wins, so it takes over.
 *
 * Also the check word of a frame (`frameWord`): 4 bytes that make the crc of the whole frame a constant, so a
 * run of frames checks with one crc over all of it (docs/journal.md, "Frames").
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

/**
 * The crc32 of any bytes followed by their own crc32 (little endian), whatever the bytes and the initial value.
 * Frames are checked from it and must come back to it: each frame ends the crc where the next one starts it.
 */
export const RESIDUE = 0x2144df1c;

/** Where a payload's crc starts: `crc32(payload, PAYLOAD_START)` runs it from a zero register. */
export const PAYLOAD_START = 0xffffffff;

/**
 * The check word of a frame `[u32 length][u32 word][payload]` (little endian): the word that makes the crc32 of
 * the whole frame, continued from RESIDUE, equal RESIDUE. `payloadCrc` is `crc32(payload, PAYLOAD_START)`, which
 * can be taken over a payload in several buffers.
 *
 * The crc register is linear in the bytes: the word carries the register from where the length word leaves it
 * to where the payload, run backwards (`unshift`), has to start for the frame to end at RESIDUE.
 */
export function frameWord(length: number, payloadCrc: number): number {
  let afterLength = ~RESIDUE;
  for (let k = 0; k < 32; k += 8) afterLength = T[(afterLength ^ (length >>> k)) & 0xff] ^ (afterLength >>> 8);
  return (unshift(RESIDUE ^ payloadCrc, length + 4) ^ afterLength) >>> 0;
}

/**
 * The crc register `bytes` zero bytes earlier: the inverse of running `bytes` zeros through it. Table `i` (built
 * on first use) undoes 2^i bytes as four byte lookups, so any count costs one table per set bit.
 */
function unshift(register: number, bytes: number): number {
  let r = register;
  for (let i = 0, k = bytes; k > 0; i++, k = Math.floor(k / 2)) {
    if (k % 2 === 0) continue;
    const t = UNSHIFT[i] ?? unshiftTable(i);
    r = t[r & 0xff] ^ t[256 + ((r >>> 8) & 0xff)] ^ t[512 + ((r >>> 16) & 0xff)] ^ t[768 + (r >>> 24)];
  }
  return r;
}

const UNSHIFT: Int32Array[] = [];
/** Columns of the matrix that undoes 2^i zero bytes (column j: the image of bit j), per i built so far. */
const unshiftColumns: Int32Array[] = [];

function unshiftTable(i: number): Int32Array {
  if (unshiftColumns.length === 0) {
    // One zero byte backwards: the register's top byte names the table entry that was mixed in (the top bytes
    // of the 256 entries are all different).
    const entryOfTop = new Uint8Array(256);
    for (let b = 0; b < 256; b++) entryOfTop[T[b] >>> 24] = b;
    const back = (r: number) => {
      const b = entryOfTop[r >>> 24];
      return ((r ^ T[b]) << 8) | b;
    };
    unshiftColumns.push(Int32Array.from({ length: 32 }, (_, j) => back(1 << j)));
  }
  while (unshiftColumns.length <= i) {
    const m = unshiftColumns[unshiftColumns.length - 1];
    unshiftColumns.push(m.map((column) => applyColumns(m, column)));
  }
  const m = unshiftColumns[i];
  const table = new Int32Array(1024);
  for (let byte = 0; byte < 4; byte++) {
    for (let b = 1; b < 256; b++) {
      const low = b & -b;
      table[byte * 256 + b] = table[byte * 256 + (b ^ low)] ^ m[8 * byte + 31 - Math.clz32(low)];
    }
  }
  UNSHIFT[i] = table;
  return table;
}

function applyColumns(columns: Int32Array, v: number): number {
  let r = 0;
  for (let j = 0, bits = v >>> 0; bits !== 0; j++, bits >>>= 1) if (bits & 1) r ^= columns[j];
  return r;
}

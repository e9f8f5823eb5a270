/**
 * Row 8: replaying a 100,000-entry journal (read the file and check every frame as the file store's claim does,
 * then answer the handler's calls from it, each decoding its entry) against msgpackr decoding the same payloads
 * from memory with nothing else. Two forms, each against its own journal's decoding: sync activities answered in
 * a plain loop, and async ones (what a handler calling fetch or a client library makes) awaited one by one, as the
 * handler awaits them. The async form also reports (not judged) its floor: the same decoding with one await of an
 * already settled promise per payload, in a session's context, which is what the handler's own await costs.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { dist, interleaved, remove, scratch } from "./lib.mjs";
import { SITE, header } from "./durable.mjs";

// The copy of msgpackr the runtime loads (CommonJS), with the extensions the codec registered.
const { Packr } = createRequire(import.meta.url)("msgpackr");
const { codecOptions } = dist("runtime/codec.js");
const { JournalWriter, readJournal, HEADER_SIZE, FRAME_OVERHEAD } = dist("runtime/journal.js");
const { SessionState } = dist("runtime/session-state.js");
const { storage } = dist("runtime/context.js");
const { call } = dist("runtime/stub.js");

const ENTRIES = 100_000;

async function writeJournal(file, async) {
  const writer = JournalWriter.create(file, { fsync: "none" });
  writer.appendSync(header());
  for (let seq = 1; seq < ENTRIES; seq++) {
    // In the key order the stub writes (runtime/stub.ts).
    writer.append({ t: "activity", seq, async, end: 1712345678001 + seq, site: SITE.id, callee: SITE.callee, ok: true, start: 1712345678000 + seq, value: { id: seq, ok: true, name: `item-${seq}` } });
  }
  await writer.close();
}

/** The payload bounds, found once: the baseline is msgpackr's decoding and nothing else. */
function payloads(bytes) {
  const bounds = [];
  for (let at = HEADER_SIZE; at + FRAME_OVERHEAD <= bytes.length; ) {
    const length = bytes.readUInt32LE(at);
    if (length === 0) break;
    bounds.push({ start: at + FRAME_OVERHEAD, end: at + FRAME_OVERHEAD + length });
    at += FRAME_OVERHEAD + length;
  }
  return bounds;
}

const INBOX = { take: async () => undefined, consumed: async () => {} };

function api() {
  throw new Error("replay ran an activity live");
}

/** The session state of a resumed attempt over the journal in `file`, read as the file store's claim reads it. */
function resumed(file) {
  const { records, activities } = readJournal(file, { repair: false, lazy: true });
  return new SessionState("ses_replay", 2, true, undefined, { records, activities }, INBOX);
}

function finish(session) {
  session.assertFullyReplayed();
  session.close();
}

const FORMS = {
  sync: (file) => () => {
    const session = resumed(file);
    storage.run({ session, inActivity: false }, () => {
      for (let i = 1; i < ENTRIES; i++) call(SITE, undefined, api, []);
    });
    finish(session);
  },
  async: (file) => async () => {
    const session = resumed(file);
    await storage.run({ session, inActivity: false }, async () => {
      for (let i = 1; i < ENTRIES; i++) await call(SITE, undefined, api, []);
    });
    finish(session);
  },
};

/** One form: its replay against decoding its journal's payloads, each measured in the same rounds. */
async function measure(dir, form, quick) {
  const file = path.join(dir, `${form}.journal`);
  await writeJournal(file, form === "async");
  const bytes = fs.readFileSync(file);
  const bounds = payloads(bytes);
  // The journal's own msgpackr options (its shared record structures), so the baseline decodes the same bytes.
  const packr = new Packr(codecOptions());
  const decodeOnly = () => {
    for (const b of bounds) packr.unpack(bytes, b);
  };
  const replay = FORMS[form](file);
  const subjects = { decodeOnly, replay };
  if (form === "async") {
    // AsyncLocalStorage is on in a session, which puts hooks on every promise: the floor pays them as the replay does.
    subjects.awaitFloor = () =>
      storage.run({ session: undefined, inActivity: false }, async () => {
        for (const b of bounds) await Promise.resolve(packr.unpack(bytes, b));
      });
  }
  // Warm every path first: this row measures steady-state work, not compiling the code that does it.
  for (let i = 0; i < 2; i++) for (const run of Object.values(subjects)) await run();
  const r = await interleaved(quick ? 3 : 9, subjects);
  const rate = (ENTRIES * 1000) / r.replay.median;
  const ratio = r.replay.median / r.decodeOnly.median;
  const cpuRatio = r.replay.cpuMedian / r.decodeOnly.cpuMedian;
  const floor = r.awaitFloor && { floor: r.awaitFloor.median, floorRatio: r.awaitFloor.median / r.decodeOnly.median, cpuFloorRatio: r.awaitFloor.cpuMedian / r.decodeOnly.cpuMedian };
  return { subject: r.replay.median, baseline: r.decodeOnly.median, ratio, cpuRatio, entriesPerSecond: rate, journalBytes: bytes.length, ...floor };
}

export async function run({ only, quick }) {
  if (!only("8")) return [];
  const dir = scratch("replay");
  try {
    const sync = await measure(dir, "sync", quick);
    const awaited = await measure(dir, "async", quick);
    const pass = (m, ratio) => m.entriesPerSecond >= 1_000_000 && m.ratio <= ratio;
    return [
      { row: "8", what: "replay a 100,000-entry journal of sync activities vs msgpackr decoding the same bytes", unit: "ms", ...sync, target: "≥ 1,000,000 entries/s and ≤ 1.5x", pass: pass(sync, 1.5) },
      { row: "8b", what: "replay a 100,000-entry journal of async activities, each awaited, vs msgpackr decoding the same bytes", unit: "ms", ...awaited, target: "≥ 1,000,000 entries/s and ≤ 2x", pass: pass(awaited, 2) },
    ];
  } finally {
    remove(dir);
  }
}

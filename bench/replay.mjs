/**
 * Row 8: replaying a 100,000-entry journal (a file store's claim of the session: its frames read from the runner's
 * segment and every frame checked, then the handler's calls answered from it, each decoding its entry) against
 * msgpackr decoding the same payloads from memory with nothing else. Two forms, each against its own journal's
 * decoding: sync activities answered in a plain loop, and async ones (what a handler calling fetch or a client
 * library makes) awaited one by one, as the handler awaits them. The async form also reports (not judged) its floor: the same decoding with one await of an
 * already settled promise per payload, in a session's context, which is what the handler's own await costs.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import { dist, interleaved, remove, scratch } from "./lib.mjs";
import { SITE, header, openStore } from "./durable.mjs";

// The copy of msgpackr the runtime loads (CommonJS), with the extensions the codec registered.
const { Packr } = createRequire(import.meta.url)("msgpackr");
const { codecOptions } = dist("runtime/codec.js");
const { encodeFrame, fileHeader, HEADER_SIZE, FRAME_OVERHEAD } = dist("runtime/journal.js");
const { SessionState } = dist("runtime/session-state.js");
const { storage } = dist("runtime/context.js");
const { call } = dist("runtime/stub.js");

const ENTRIES = 100_000;

/**
 * A session of ENTRIES records (its header, then activities) written to `store` and released, as a runner that
 * stopped would leave it; returns its id and its journal's image (the frames behind a file header), for the baseline.
 */
async function writeSession(store, async) {
  const records = [header()];
  for (let seq = 1; seq < ENTRIES; seq++) {
    // In the key order the stub writes (runtime/stub.ts).
    records.push({ t: "activity", seq, async, end: 1712345678001 + seq, site: SITE.id, callee: SITE.callee, ok: true, start: 1712345678000 + seq, value: { id: seq, ok: true, name: `item-${seq}` } });
  }
  const lease = await store.create(records[0], "bench");
  for (const record of records.slice(1)) await lease.append(record);
  await lease.release();
  return { id: lease.id, bytes: Buffer.concat([fileHeader(), ...records.map(encodeFrame)]) };
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

/**
 * A resumed attempt of session `id`: claimed from the store as a runner resuming it claims it (the journal read from
 * the segment, every frame checked, activities indexed without decoding them), and its session state.
 */
async function resumed(store, id) {
  const lease = await store.claim(id, "bench");
  const { records, activities } = lease.claimed;
  return { lease, session: new SessionState(id, 2, true, undefined, { records, activities }, INBOX) };
}

/** Checks the replay answered every entry, and lets the session go for the next run's claim. */
async function finish({ lease, session }) {
  session.assertFullyReplayed();
  session.close();
  await lease.release();
}

const FORMS = {
  sync: (store, id) => async () => {
    const claimed = await resumed(store, id);
    storage.run({ session: claimed.session, inActivity: false }, () => {
      for (let i = 1; i < ENTRIES; i++) call(SITE, undefined, api, []);
    });
    await finish(claimed);
  },
  async: (store, id) => async () => {
    const claimed = await resumed(store, id);
    await storage.run({ session: claimed.session, inActivity: false }, async () => {
      for (let i = 1; i < ENTRIES; i++) await call(SITE, undefined, api, []);
    });
    await finish(claimed);
  },
};

/** One form: its replay against decoding its journal's payloads, each measured in the same rounds. */
async function measure(store, form, quick) {
  const { id, bytes } = await writeSession(store, form === "async");
  const bounds = payloads(bytes);
  // The journal's own msgpackr options (its shared record structures), so the baseline decodes the same bytes.
  const packr = new Packr(codecOptions());
  const decodeOnly = () => {
    for (const b of bounds) packr.unpack(bytes, b);
  };
  const replay = FORMS[form](store, id);
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
  // fsync `none`: the row measures reading and replaying, not writing.
  const store = openStore(path.join(dir, "store"), "none");
  try {
    const sync = await measure(store, "sync", quick);
    const awaited = await measure(store, "async", quick);
    const pass = (m, ratio) => m.entriesPerSecond >= 1_000_000 && m.ratio <= ratio;
    return [
      { row: "8", what: "claim and replay a 100,000-entry journal of sync activities vs msgpackr decoding the same bytes", unit: "ms", ...sync, target: "≥ 1,000,000 entries/s and ≤ 1.5x", pass: pass(sync, 1.5) },
      { row: "8b", what: "claim and replay a 100,000-entry journal of async activities, each awaited, vs msgpackr decoding the same bytes", unit: "ms", ...awaited, target: "≥ 1,000,000 entries/s and ≤ 2x", pass: pass(awaited, 2) },
    ];
  } finally {
    await store.close();
    remove(dir);
  }
}

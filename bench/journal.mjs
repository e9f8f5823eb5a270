/**
 * Rows 5-7: a durable activity's cost per fsync policy. Row 5 compares one activity under `always` with the two
 * raw bounds of the device: an O_APPEND write + fdatasync (the file grows, so its size is flushed too) and a
 * pwrite into space allocated and flushed beforehand + fdatasync (data only).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { dist, interleaved, jsonLikeResult, median, remove, scratch, time, zeroFilled } from "./lib.mjs";
import { activities, activityRecord, durableSession, openStore } from "./durable.mjs";

const { encodeFrame } = dist("runtime/journal.js");

/** (a): append the frame to an O_APPEND file and fdatasync, per step. */
function rawAppend(file, frame, steps) {
  const fd = fs.openSync(file, "a");
  try {
    for (let i = 0; i < steps; i++) {
      fs.writeSync(fd, frame);
      fs.fdatasyncSync(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** (b): pwrite the frame at advancing offsets of a preallocated file and fdatasync, per step. */
function rawPwrite(fd, frame, steps) {
  for (let i = 0, at = 0; i < steps; i++, at += frame.length) {
    fs.writeSync(fd, frame, 0, frame.length, at);
    fs.fdatasyncSync(fd);
  }
}

async function rowAlways(quick) {
  const steps = quick ? 200 : 500;
  const value = jsonLikeResult(1024);
  const frame = Buffer.from(encodeFrame(activityRecord(value)));
  const dir = scratch("always");
  let n = 0;
  try {
    const store = openStore(path.join(dir, "store"), "always");
    const sessions = [];
    const prepared = [];
    const subjects = {
      append: () => rawAppend(path.join(dir, `append-${n++}`), frame, steps),
      pwrite: async () => {
        const fd = prepared.pop();
        try {
          rawPwrite(fd, frame, steps);
        } finally {
          fs.closeSync(fd);
        }
      },
      akts: async () => {
        const session = sessions.pop();
        await activities(session, steps, value);
        await session.close();
      },
    };
    // Files and sessions are made before each timed run.
    const before = async () => {
      prepared.push(zeroFilled(path.join(dir, `pwrite-${n++}`), frame.length * steps + 4096));
      sessions.push(await durableSession(store));
    };
    // Warm every subject first, as rows 3 and 8 do: V8 compiles and optimizes the durable path over its first
    // 1,000-1,500 activities (a cold process's first sessions run 15-50 % slower a step), and this row measures an
    // activity of a running process, not that one-time cost.
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      await before();
      for (const subject of Object.values(subjects)) await subject();
    }
    const results = await interleaved(quick ? 3 : 7, subjects, { before });
    await store.close();
    const us = (k) => (results[k].median * 1000) / steps;
    const [subject, a, b] = [us("akts"), us("append"), us("pwrite")];
    return [
      { row: "5a", what: "durable activity, fsync always, 1 KiB result vs O_APPEND write + fdatasync", unit: "µs/activity", subject, baseline: a, ratio: subject / a, target: "≤ 1.0x", pass: subject / a <= 1.0, frameBytes: frame.length, steps },
      { row: "5b", what: "the same vs pwrite into preallocated space + fdatasync (device flush limit)", unit: "µs/activity", subject, baseline: b, ratio: subject / b, target: "≤ 1.3x", pass: subject / b <= 1.3, frameBytes: frame.length, steps },
    ];
  } finally {
    remove(dir);
  }
}

/**
 * Activities per second of `sessions` concurrent sessions, each awaiting `steps` activities in turn and then closed.
 * The close is timed: under fsync none an activity's append resolves before its entry is written, and sessions that
 * never yield leave every entry queued until then, so a timer stopped before it left the writes out.
 */
async function throughput(fsync, sessions, steps, rounds) {
  const dir = scratch(fsync);
  try {
    const store = openStore(dir, fsync);
    const rates = [];
    for (let r = 0; r < rounds; r++) {
      const open = [];
      for (let i = 0; i < sessions; i++) open.push(await durableSession(store));
      const ms = await time(() => Promise.all(open.map(async (s) => {
        await activities(s, steps, SMALL_RESULT);
        await s.close();
      })));
      rates.push((sessions * steps * 1000) / ms);
    }
    await store.close();
    return { median: median(rates), samples: rates };
  } finally {
    remove(dir);
  }
}

/** What a typical API acknowledgement looks like. */
const SMALL_RESULT = { ok: true, id: "msg_01HZX3", ts: 1712345678 };

export async function run({ only, quick }) {
  const rows = [];
  if (only("5")) rows.push(...(await rowAlways(quick)));
  if (only("6")) {
    const r = await throughput("batch", 64, quick ? 100 : 300, quick ? 2 : 5);
    rows.push({ row: "6", what: "durable activities, fsync batch, 64 concurrent sessions", unit: "activities/s", subject: r.median, samples: r.samples, target: "≥ 100,000/s", pass: r.median >= 100_000 });
  }
  if (only("7")) {
    const r = await throughput("none", 64, quick ? 500 : 2000, quick ? 2 : 5);
    rows.push({ row: "7", what: "durable activities, fsync none, 64 concurrent sessions", unit: "activities/s", subject: r.median, samples: r.samples, target: "≥ 300,000/s", pass: r.median >= 300_000 });
  }
  return rows;
}

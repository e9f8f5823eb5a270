/** Row 10: journal bytes of one activity with a 1 KiB JSON-like result, against the same record as JSON. */
import { dist, jsonLikeResult } from "./lib.mjs";
import { activityRecord } from "./durable.mjs";

const { encodeFrame } = dist("runtime/journal.js");

export async function run({ only }) {
  if (!only("10")) return [];
  const record = activityRecord(jsonLikeResult(1024), 42);
  const frame = encodeFrame(record).length;
  const json = Buffer.byteLength(JSON.stringify(record));
  return [{ row: "10", what: "journal bytes per activity, 1 KiB JSON-like result, vs JSON.stringify of the record", unit: "bytes", subject: frame, baseline: json, ratio: frame / json, target: "smaller", pass: frame < json }];
}

/**
 * Stores of the older layout (one `sessions/<id>.journal` per session, `sessions/<id>.json` summaries, `unfinished/`
 * markers) are migrated when a store opens them: every journal goes, as fence-1 entries with a released note or its
 * finished summary, into one segment `segments/legacy-0.seg`, which is synced and renamed into place before any old
 * file is removed. A crash midway leaves either no segment (the migration starts over) or the whole segment and some
 * old files, which the next open removes. docs/stores.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { encodeFrame } from "../journal-frames";
import { readJournal, fsyncDir } from "../journal-file";
import type { JournalRecord } from "../journal-records";
import { AktsError } from "../../errors";
import { isSessionId, UNFINISHED, type SessionSummary } from "./store";
import { entryParts, Kind, noteBody, recordKind, segmentHeader } from "./segment-format";

export const LEGACY_SEGMENT = "legacy-0.seg";

export function migrateLegacy(location: string): void {
  const sessions = path.join(location, "sessions");
  const journals = fs.readdirSync(sessions).filter((f) => f.endsWith(".journal") && isSessionId(f.slice(0, -".journal".length)));
  if (journals.length === 0) return;
  const lock = path.join(location, "migrating");
  try {
    fs.mkdirSync(lock, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new AktsError("AKTS4005", `the store ${location} is being migrated to segments by another process (remove ${lock} if none runs)`);
    throw err;
  }
  try {
    const segment = path.join(location, "segments", LEGACY_SEGMENT);
    if (!fs.existsSync(segment)) writeSegment(location, journals, segment);
    for (const name of journals) {
      const id = name.slice(0, -".journal".length);
      for (const file of [path.join(sessions, name), path.join(sessions, `${id}.json`), path.join(location, "unfinished", id)]) fs.rmSync(file, { force: true });
    }
    fsyncDir(sessions);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function writeSegment(location: string, journals: string[], segment: string): void {
  const parts: Buffer[] = [segmentHeader()];
  for (const name of journals) {
    const id = name.slice(0, -".journal".length);
    let records: JournalRecord[];
    try {
      records = readJournal(path.join(location, "sessions", name)).records;
    } catch {
      // A damaged journal, or a creation an older akts left cut short: nothing to migrate of it.
      continue;
    }
    if (records[0]?.t !== "header") continue;
    for (const record of records) parts.push(...entryParts(recordKind(record), 1, id, encodeFrame(record)));
    const summary = readSummary(path.join(location, "sessions", `${id}.json`));
    if (summary && !UNFINISHED.includes(summary.status)) {
      const { status, attempts, error, errorCode, result, updatedAt } = summary;
      parts.push(...entryParts(Kind.Status, 1, id, noteBody({ status, attempts, error, errorCode, result, at: updatedAt })));
    } else if (!records.some((r) => r.t === "end")) {
      parts.push(...entryParts(Kind.Released, 1, id, noteBody({})));
    }
  }
  const tmp = path.join(location, "tmp", `${LEGACY_SEGMENT}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, Buffer.concat(parts));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, segment);
  fsyncDir(path.dirname(segment));
}

function readSummary(file: string): SessionSummary | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as SessionSummary;
  } catch {
    return undefined;
  }
}

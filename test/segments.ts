/** Reading a file store's segments in tests: where a session's entries are, to damage or cut them. */
import * as fs from "node:fs";
import * as path from "node:path";
import { scanSegment } from "../runtime/store/segment-format";

export interface SegmentEntry {
  readonly file: string;
  /** Offset of the entry's frame (its length word) in the segment file. */
  readonly frameAt: number;
  /** Offset of its body (a journal frame, or a note) and the body's length. */
  readonly bodyAt: number;
  readonly bodyLength: number;
  readonly kind: number;
  readonly fence: number;
  readonly session: string;
}

export function segmentFiles(store: string): string[] {
  const dir = path.join(store, "segments");
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort().map((f) => path.join(dir, f)) : [];
}

/** Every entry of every segment of the store, in file order. */
export function segmentEntries(store: string): SegmentEntry[] {
  return segmentFiles(store).flatMap((file) =>
    scanSegment(fs.readFileSync(file), 0, file).entries.map((e) => ({
      file,
      frameAt: e.at - 8 - 6 - e.session.length,
      bodyAt: e.at,
      bodyLength: e.length,
      kind: e.kind,
      fence: e.fence,
      session: e.session,
    })),
  );
}

/** The entries of one session. */
export function sessionEntries(store: string, id: string): SegmentEntry[] {
  return segmentEntries(store).filter((e) => e.session === id);
}

/** Whether a segment of the store (other than `except`) holds `text`: a record written by a running process. */
export function segmentsHold(store: string, text: string, except: ReadonlySet<string> = new Set()): boolean {
  return segmentFiles(store).some((file) => !except.has(file) && fs.readFileSync(file).includes(text));
}

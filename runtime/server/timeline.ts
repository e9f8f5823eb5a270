/**
 * A session's timeline, as `GET /sessions/<id>/timeline` answers it and the session page draws it (docs/ui.md).
 * Built from the journal alone, as it is written today: an activity has its start and end times; a timer has
 * only its deadline, so it is placed after the record before it (`after`, a lower bound of when it was set); an
 * event has the time it was received. What a waiting session waits for is what its journal says last (a timer
 * still to fire, or the timeout timer nextEvent journals before it waits): a `nextEvent` without a timeout
 * journals nothing until its event arrives, so its name is then unknown.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { HeaderRecord, JournalRecord } from "../journal";
import type { SessionSummary } from "../store/store";
import { sessionJson, type SessionJson } from "../store/session-json";

export interface Place {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The source line itself, trimmed, when the project's file is there to read. */
  readonly source?: string;
}

export type TimelineItem =
  | {
      readonly kind: "activity";
      readonly seq: number;
      readonly callee: string;
      readonly site: string;
      readonly place?: Place;
      readonly start: number;
      readonly end: number;
      readonly ok: boolean;
      readonly async: boolean;
      /** The result or error as journaled: the data projection of what the call returned or threw. */
      readonly value?: unknown;
      readonly error?: unknown;
      /** The run that journaled it (1 for the first). */
      readonly attempt: number;
    }
  | { readonly kind: "timer"; readonly seq: number; readonly site: string; readonly event?: string; readonly after: number; readonly deadline: number; readonly attempt: number }
  | { readonly kind: "event"; readonly seq: number; readonly name: string; readonly at: number; readonly value?: unknown; readonly timedOut: boolean; readonly attempt: number };

export interface Attempt {
  readonly attempt: number;
  readonly at: number;
  /**
   * For a run after the first: how many journaled outcomes it was answered from instead of running them (a durable
   * replay after a crash or restart); a non-durable rerun starts over and replays none.
   */
  readonly replayed: number;
}

/** What a waiting session waits for, as far as its journal says. */
export type Waiting = { readonly kind: "event"; readonly name?: string; readonly deadline?: number } | { readonly kind: "timer"; readonly deadline: number };

/** The two sides of a divergence (AKTS5001), as the error's message names them. */
export interface Divergence {
  readonly entry: number;
  readonly journal: string;
  readonly code: string;
}

export interface Timeline {
  readonly session: SessionJson;
  /** The server's clock, so the page places an unfinished session's open waits against it. */
  readonly now: number;
  readonly event: unknown;
  readonly attempts: readonly Attempt[];
  readonly items: readonly TimelineItem[];
  readonly waiting?: Waiting;
  readonly end?: { readonly ok: boolean; readonly at: number; readonly result?: unknown; readonly error?: unknown; readonly cancelled?: true };
  readonly divergence?: Divergence;
}

const SITE_ID = /^(.+):(\d+):(\d+)$/;
const TIMEOUT_SITE = /^<akts>:nextEvent:(.*)$/;
const DIVERGENCE = /^entry #(\d+): journal has (.+?)(?:, code | completing before (.+), which the code waits on; the code )(.+?)(?: \(the code (?:is unchanged|changed) since[^)]*\))?$/;

export function timeline(session: SessionSummary, records: readonly JournalRecord[], now: number): Timeline {
  const header = records[0]?.t === "header" ? records[0] : undefined;
  const sources = new SourceLines(header);
  const items: TimelineItem[] = [];
  const attempts: Attempt[] = [];
  let attempt = 1;
  let last = header?.createdAt ?? session.createdAt;
  let end: Timeline["end"];
  for (const r of records) {
    switch (r.t) {
      case "attempt":
        attempt = r.attempt;
        attempts.push({ attempt: r.attempt, at: r.at, replayed: session.mode === "durable" ? items.length : 0 });
        last = Math.max(last, r.at);
        break;
      case "activity":
        items.push({
          kind: "activity", seq: r.seq, callee: r.callee, site: r.site, place: sources.place(r.site), start: r.start, end: r.end, ok: r.ok, async: r.async, attempt,
          ...(r.ok ? { value: r.value } : { error: r.error }),
        });
        last = Math.max(last, r.end);
        break;
      case "timer":
        items.push({ kind: "timer", seq: r.seq, site: r.site, event: TIMEOUT_SITE.exec(r.site)?.[1], after: last, deadline: r.deadline, attempt });
        break;
      case "event":
        items.push({ kind: "event", seq: r.seq, name: r.name, at: r.at, value: r.value, timedOut: r.timedOut === true, attempt });
        last = Math.max(last, r.at);
        break;
      case "end":
        end = { ok: r.ok, at: r.at, ...(r.ok ? { result: r.result } : { error: r.error }), ...(r.cancelled ? { cancelled: true } : {}) };
        break;
    }
  }
  const divergence = session.errorCode === "AKTS5001" ? divergenceOf(session.error ?? "") : undefined;
  return {
    session: sessionJson(session), now, event: header?.event, attempts, items,
    ...(session.status === "waiting" ? { waiting: waitingFor(items, now) } : {}),
    ...(end ? { end } : {}),
    ...(divergence ? { divergence } : {}),
  };
}

/** The last timer still to fire: a nextEvent timeout names the event; any other is a sleep. */
function waitingFor(items: readonly TimelineItem[], now: number): Waiting {
  const last = items.at(-1);
  if (last?.kind === "timer" && last.event !== undefined) return { kind: "event", name: last.event, deadline: last.deadline };
  if (last?.kind === "timer" && last.deadline > now) return { kind: "timer", deadline: last.deadline };
  return { kind: "event" };
}

/** `entry #3: journal has fetch at a.ts:1:2, code called other at a.ts:5:6`: the two sides, for the page to set apart. */
export function divergenceOf(error: string): Divergence | undefined {
  const m = DIVERGENCE.exec(error.replace(/^\w*Error: /, ""));
  if (!m) return undefined;
  return { entry: Number(m[1]), journal: m[2], code: m[3] === undefined ? m[4] : `waits on ${m[3]} and ${m[4]}` };
}

/**
 * The source lines of sites, read from the project's files (the folder of the manifest, or the bundle folder the
 * header names); a file outside that folder, or not there, gives no line.
 */
class SourceLines {
  private readonly root: string | undefined;
  private readonly files = new Map<string, string[] | undefined>();

  constructor(header: HeaderRecord | undefined) {
    const manifest = header?.manifest;
    this.root = manifest === undefined ? undefined : isDirectory(manifest) ? manifest : path.dirname(manifest);
  }

  place(site: string): Place | undefined {
    const m = SITE_ID.exec(site);
    if (!m) return undefined;
    const line = Number(m[2]);
    const source = this.lines(m[1])?.[line - 1]?.trim().slice(0, 400);
    return { file: m[1], line, column: Number(m[3]), ...(source === undefined ? {} : { source }) };
  }

  private lines(file: string): string[] | undefined {
    if (this.root === undefined) return undefined;
    if (!this.files.has(file)) {
      const full = path.resolve(this.root, file);
      const inside = full.startsWith(this.root + path.sep);
      this.files.set(file, inside ? readLines(full) : undefined);
    }
    return this.files.get(file);
  }
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function readLines(file: string): string[] | undefined {
  try {
    return fs.readFileSync(file, "utf8").split(/\r?\n/);
  } catch {
    return undefined;
  }
}

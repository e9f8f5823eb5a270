/**
 * One session's own files in the file store (layout: file-store.ts): its takeover leases and its inbox. Its frames
 * and summary live in the segments (segment-index.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { HeaderRecord } from "../journal-records";
import { checkSessionId, type SessionSummary } from "./store";

export class SessionFiles {
  readonly inbox: string;
  private readonly leasePrefix: string;

  /** `sessionsDir` is the store's `sessions/` folder. */
  constructor(sessionsDir: string, readonly id: string) {
    checkSessionId(id);
    // A session id has no `/` or `.` (checkSessionId): joining by hand is what path.join would make.
    const base = `${sessionsDir}${path.sep}${id}`;
    this.inbox = `${base}.inbox`;
    this.leasePrefix = `${base}.lease-`;
  }

  /** The lease file of takeover fence `fence` (>= 2). Fence 1 is the creator's segment lease. */
  lease(fence: number): string {
    return `${this.leasePrefix}${fence}`;
  }

  /** The highest fence taken so far (1 when nobody took the session over). Fences are few: one per takeover. */
  currentFence(): number {
    let fence = 1;
    while (fs.existsSync(this.lease(fence + 1))) fence++;
    return fence;
  }
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // A lease whose writer died while writing it.
    return undefined;
  }
}

export function headerFields(header: HeaderRecord): Pick<SessionSummary, "id" | "project" | "trigger" | "handler" | "mode" | "createdAt" | "parent"> {
  return {
    id: header.sessionId,
    project: header.project,
    trigger: header.trigger,
    handler: header.handler,
    mode: header.mode,
    createdAt: header.createdAt,
    ...(header.parent === undefined ? {} : { parent: header.parent }),
  };
}

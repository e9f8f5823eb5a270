/**
 * The embedded store: one folder (`.akts/` beside the manifest by default).
 *
 *   sessions/<id>/journal       the session's journal (docs/journal.md)
 *   sessions/<id>/status.json   its summary, replaced atomically (write + rename)
 *   sessions/<id>/lease         who runs it: { runner, pid, fence }
 *   sessions/<id>/fence-<n>     created exclusively by the runner that takes fence n: the claim race's referee
 *   sessions/<id>/inbox/<e>     events delivered and not yet consumed
 *
 * Files are 0600, folders 0700. A lease is free when its holder's process is gone (same machine). A runner checks
 * that nobody took a newer fence at every status change and at least every FENCE_CHECK_MS while appending.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { decode, encode } from "../codec";
import { JournalWriter, readJournal, type FsyncPolicy, type HeaderRecord, type JournalRecord } from "../journal";
import { StaleLeaseError } from "../errors";
import type { Inbox } from "../session-state";
import type { JournalRead, SessionLease, SessionStatus, SessionSummary, Store } from "./store";
import { AktsError } from "../../errors";

const FENCE_CHECK_MS = 100;
const INBOX_POLL_MS = 50;

interface LeaseFile {
  runner: string;
  pid: number;
  fence: number;
}

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class FileStore implements Store {
  private readonly sessionsDir: string;

  constructor(
    readonly location: string,
    private readonly fsync: FsyncPolicy = "always",
  ) {
    this.sessionsDir = path.join(location, "sessions");
    fs.mkdirSync(this.sessionsDir, { recursive: true, mode: 0o700 });
  }

  private dir(id: string): string {
    if (!/^[\w-]+$/.test(id)) throw new AktsError("AKTS9001", `'${id}' is not a session id`);
    return path.join(this.sessionsDir, id);
  }

  async create(header: HeaderRecord, runner: string): Promise<SessionLease> {
    const dir = this.dir(header.sessionId);
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.writeFileSync(path.join(dir, "fence-1"), "", { mode: 0o600, flag: "wx" });
    writeAtomic(path.join(dir, "lease"), JSON.stringify({ runner, pid: process.pid, fence: 1 } satisfies LeaseFile));
    const writer = JournalWriter.create(path.join(dir, "journal"), { fsync: this.fsync });
    writer.appendSync(header);
    const summary: SessionSummary = {
      id: header.sessionId,
      project: header.project,
      trigger: header.trigger,
      handler: header.handler,
      mode: header.mode,
      status: "running",
      attempts: 0,
      createdAt: header.createdAt,
      updatedAt: Date.now(),
    };
    writeAtomic(path.join(dir, "status.json"), JSON.stringify(summary));
    return new FileLease(dir, header.sessionId, 1, writer, summary);
  }

  async claim(id: string, runner: string): Promise<SessionLease | undefined> {
    const dir = this.dir(id);
    const lease = readJson<LeaseFile>(path.join(dir, "lease"));
    const summary = readJson<SessionSummary>(path.join(dir, "status.json"));
    if (!summary) return undefined;
    if (lease && lease.pid !== 0 && lease.pid !== process.pid && alive(lease.pid)) return undefined;
    const fence = (lease?.fence ?? 0) + 1;
    try {
      fs.writeFileSync(path.join(dir, `fence-${fence}`), "", { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return undefined;
      throw err;
    }
    writeAtomic(path.join(dir, "lease"), JSON.stringify({ runner, pid: process.pid, fence } satisfies LeaseFile));
    const journal = readJournal(path.join(dir, "journal"));
    const writer = JournalWriter.open(path.join(dir, "journal"), journal.end, { fsync: this.fsync });
    return new FileLease(dir, id, fence, writer, summary);
  }

  async get(id: string): Promise<SessionSummary | undefined> {
    return readJson<SessionSummary>(path.join(this.dir(id), "status.json"));
  }

  async list(): Promise<SessionSummary[]> {
    const out: SessionSummary[] = [];
    for (const id of fs.readdirSync(this.sessionsDir).sort()) {
      const s = readJson<SessionSummary>(path.join(this.sessionsDir, id, "status.json"));
      if (s) out.push(s);
    }
    return out;
  }

  async unfinished(): Promise<SessionSummary[]> {
    return (await this.list()).filter((s) => s.status === "running" || s.status === "waiting");
  }

  async read(id: string): Promise<JournalRead> {
    const file = path.join(this.dir(id), "journal");
    if (!fs.existsSync(file)) throw new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
    const { records, notice } = readJournal(file, { repair: false });
    return { records, notice };
  }

  async deliver(id: string, name: string, value: unknown): Promise<string> {
    const summary = await this.get(id);
    if (!summary) throw new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
    const inbox = path.join(this.dir(id), "inbox");
    fs.mkdirSync(inbox, { recursive: true, mode: 0o700 });
    const eventId = `evt_${Date.now().toString(36).padStart(9, "0")}${randomBytes(6).toString("hex")}`;
    writeAtomic(path.join(inbox, eventId), encode({ name, value }));
    return eventId;
  }

  inbox(id: string, consumed: ReadonlySet<string>): Inbox {
    const dir = path.join(this.dir(id), "inbox");
    const scan = (name: string): { id: string; value: unknown } | undefined => {
      let files: string[];
      try {
        files = fs.readdirSync(dir).filter((f) => f.startsWith("evt_") && !f.endsWith(".tmp")).sort();
      } catch {
        return undefined;
      }
      for (const file of files) {
        if (consumed.has(file)) {
          fs.rmSync(path.join(dir, file), { force: true });
          continue;
        }
        const event = decode(fs.readFileSync(path.join(dir, file))) as { name: string; value: unknown };
        if (event.name === name) return { id: file, value: event.value };
      }
      return undefined;
    };
    return {
      take: (name, deadline) =>
        new Promise((resolve) => {
          const poll = () => {
            const got = scan(name);
            if (got) return resolve(got);
            if (deadline !== undefined && Date.now() >= deadline) return resolve(undefined);
            setTimeout(poll, deadline === undefined ? INBOX_POLL_MS : Math.min(INBOX_POLL_MS, Math.max(0, deadline - Date.now())));
          };
          poll();
        }),
      consumed: async (eventId) => fs.rmSync(path.join(dir, eventId), { force: true }),
    };
  }
}

class FileLease implements SessionLease {
  private checkedAt = Date.now();

  constructor(
    private readonly dir: string,
    readonly id: string,
    readonly fence: number,
    private readonly writer: JournalWriter,
    private summary: SessionSummary,
  ) {}

  private assertCurrent(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < FENCE_CHECK_MS) return;
    this.checkedAt = now;
    if (fs.existsSync(path.join(this.dir, `fence-${this.fence + 1}`))) {
      const lease = readJson<LeaseFile>(path.join(this.dir, "lease"));
      throw new StaleLeaseError(this.id, this.fence, lease?.fence ?? this.fence + 1);
    }
  }

  append(record: JournalRecord): Promise<void> {
    this.assertCurrent(false);
    return this.writer.append(record);
  }

  appendSync(record: JournalRecord): void {
    this.assertCurrent(false);
    this.writer.appendSync(record);
  }

  async setStatus(status: SessionStatus, extra: { attempts?: number; error?: string; errorCode?: string } = {}): Promise<void> {
    this.assertCurrent(true);
    this.summary = { ...this.summary, ...extra, status, updatedAt: Date.now() };
    writeAtomic(path.join(this.dir, "status.json"), JSON.stringify(this.summary));
  }

  async release(): Promise<void> {
    await this.writer.close();
    const lease = readJson<LeaseFile>(path.join(this.dir, "lease"));
    if (lease?.fence === this.fence) writeAtomic(path.join(this.dir, "lease"), JSON.stringify({ ...lease, pid: 0 }));
  }
}

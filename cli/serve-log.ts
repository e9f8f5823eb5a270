/**
 * What `akts serve` and `akts worker` write while they work, on standard error: an access line per request (serve)
 * and a line when a session starts (or is resumed) and when it ends, as text or as one JSON object a line
 * (`--log json`). Failed sessions are logged here only, from the store's status.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { StoreObserver } from "./observe-store";
import { UNFINISHED } from "../runtime/store/store";

export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ServeLog {
  /** A line of news (the server's own `log`). */
  note(message: string): void;
  /** Called as a request arrives; logs it once answered. */
  request(req: IncomingMessage, res: ServerResponse): void;
  /** Watches the store for sessions starting and ending. */
  readonly sessions: StoreObserver;
}

/** At most one write per this many ms: a stream of sequential requests shares its writes. */
export const LOG_WRITE_MS = 10;

/**
 * Writes lines to standard error in one `write` per LOG_WRITE_MS at most instead of one per line: a request makes
 * three lines (access, session started, session ended), and on Linux each write to a pipe, file or terminal is a
 * system call that also wakes the reader. A line after a quiet spell goes out on the next timer tick; lines that
 * follow within LOG_WRITE_MS of a write wait for the rest of that time. A timer rather than the next turn, so a
 * sync webhook's lines are written after its answer, not before. What is pending is written when the process exits.
 */
export function batchedStderr(): (line: string) => void {
  let pending = "";
  let wroteAt = -Infinity;
  const flush = () => {
    if (pending === "") return;
    const text = pending;
    pending = "";
    wroteAt = performance.now();
    process.stderr.write(text);
  };
  process.on("exit", flush);
  return (line) => {
    if (pending === "") setTimeout(flush, Math.max(0, wroteAt + LOG_WRITE_MS - performance.now()));
    pending += line;
  };
}

export function serveLog(format: LogFormat, write: (line: string) => void, command: "serve" | "worker" = "serve"): ServeLog {
  const emit = (fields: Record<string, unknown>, text: string) =>
    write(format === "json" ? JSON.stringify({ time: new Date().toISOString(), ...fields }) + "\n" : `akts ${command}: ${text}\n`);
  const started = new Map<string, number>();
  const sessionLine = (id: string, event: string, detail: Record<string, unknown>, text: string) =>
    emit({ type: "session", session_id: id, event, ...detail }, `session ${id} ${text}`);
  return {
    note: (message) => emit({ type: "note", message }, message),
    request(req, res) {
      const start = process.hrtime.bigint();
      res.once("close", () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        const status = res.headersSent ? res.statusCode : 0;
        const [method, path] = [req.method ?? "?", req.url ?? "/"];
        emit(
          { type: "access", method, path, status, ms: Math.round(ms * 10) / 10, remote: req.socket.remoteAddress },
          `${req.socket.remoteAddress ?? "-"} ${method} ${path} ${status || "aborted"} ${ms.toFixed(1)} ms`,
        );
      });
    },
    sessions: {
      created(header) {
        started.set(header.sessionId, Date.now());
        sessionLine(header.sessionId, "started", { trigger: header.trigger, mode: header.mode }, `started (${header.trigger}, ${header.mode})`);
      },
      claimed(id) {
        started.set(id, Date.now());
        sessionLine(id, "resumed", {}, "resumed");
      },
      status(id, status, extra) {
        if (UNFINISHED.includes(status)) return;
        const ms = Date.now() - (started.get(id) ?? Date.now());
        started.delete(id);
        if (status === "completed") return sessionLine(id, status, { ms }, `${status} after ${ms} ms`);
        // A handler's own error has no akts code: AKTS6001, as an HTTP answer names it.
        const code = extra?.errorCode ?? "AKTS6001";
        sessionLine(id, status, { ms, error_code: code }, `${status} after ${ms} ms: ${[code, extra?.error].filter(Boolean).join(" ")}`);
      },
    },
  };
}

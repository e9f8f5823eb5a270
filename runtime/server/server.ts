/**
 * The HTTP server of `akts serve` (docs/server.md): public webhooks, admin routes behind a token, schedules, and
 * recovery of unfinished sessions. Shutdown drains: no new requests, schedules stop, running sessions are parked
 * at their next activity boundary (Engine.park) and left unfinished for the next start.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { isAktsError } from "../../errors";
import type { Engine, Outcome } from "../engine";
import type { Trigger } from "../manifest";
import type { Store } from "../store/store";
import { hasToken } from "./admin-token";
import { handleAdmin } from "./admin";
import { HttpError } from "./http-error";
import type { HandlerResolver, Host } from "./host";
import { recoverSessions } from "./recovery";
import { sendError } from "./respond";
import { startSchedules } from "./schedules";
import { handleWebhook } from "./webhooks";

export const DEFAULT_PORT = 9980;
export const DEFAULT_MAX_BODY = 1024 * 1024;

export interface ServerOptions {
  readonly engine: Engine;
  readonly store: Store;
  readonly project: string;
  readonly triggers: readonly Trigger[];
  readonly resolve: HandlerResolver;
  readonly adminToken: string;
  readonly host: string;
  readonly port: number;
  /** Bytes; a larger request body is answered 413. */
  readonly maxBody: number;
  /** One line of news (a failed session, a schedule that could not start a session). */
  readonly log: (line: string) => void;
  /** Told of every request as it arrives (the CLI's access log). */
  readonly onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

export interface RunningServer {
  readonly url: string;
  /**
   * Stops serving (new connections are refused, requests on open ones get 503), stops schedules and parks the
   * sessions (Engine.park) within `graceMs`. Resolves when the process may exit: the store is closed.
   */
  shutdown(graceMs: number): Promise<{ quiet: boolean }>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host: Host = {
    engine: options.engine,
    store: options.store,
    project: options.project,
    triggers: options.triggers,
    resolve: options.resolve,
    log: options.log,
    background: (running) => void running.then((o) => report(options.log, o), (err) => options.log(`a session could not run: ${describe(err)}`)),
  };
  let draining = false;
  const server = http.createServer((req, res) => {
    options.onRequest?.(req, res);
    if (draining) {
      req.resume();
      return sendError(res, 503, "AKTS7008", "the server is shutting down", {}, { connection: "close" });
    }
    route(host, options, req, res).catch((err) => fail(options.log, res, err));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const stopSchedules = startSchedules(host);
  void recoverSessions(host).catch((err) => options.log(`recovery: ${describe(err)}`));
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    async shutdown(graceMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      stopSchedules();
      const parked = await options.engine.park(graceMs);
      // Sync requests whose session was parked are answered by now; cut whatever still waits on a session that
      // stays in a wait (it is unfinished in the store either way).
      await Promise.race([closed, new Promise((r) => setTimeout(r, 200))]);
      server.closeAllConnections();
      await options.store.close();
      return parked;
    },
  };
}

async function route(host: Host, options: ServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  let parts: string[];
  try {
    parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, `the path ${url.pathname} is not valid percent-encoding`);
  }
  if (parts[0] === "webhooks" && parts.length === 2) return handleWebhook(host, options.maxBody, parts[1], req, res);
  if (parts[0] === "sessions") {
    if (!hasToken(req.headers.authorization, options.adminToken)) {
      throw new HttpError(401, "the admin routes need 'Authorization: Bearer <token>' with the server's admin token", { "www-authenticate": "Bearer" });
    }
    return handleAdmin(host, options.maxBody, parts.slice(1), url, req, res);
  }
  throw new HttpError(404, `no route ${url.pathname}`);
}

/** Answers an error: refusals with their status, akts errors (a handler that cannot load) and bugs with 500. */
function fail(log: (line: string) => void, res: http.ServerResponse, err: unknown): void {
  if (!(err instanceof HttpError)) log(`request failed: ${describe(err)}`);
  if (res.headersSent) return void res.destroy();
  // Unread request data would otherwise be taken for the next request on the connection.
  res.setHeader("connection", "close");
  if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message, {}, err.headers);
  if (isAktsError(err)) return sendError(res, 500, err.code, err.message);
  sendError(res, 500, "AKTS7010", "internal server error");
}

function report(log: (line: string) => void, outcome: Outcome): void {
  if (outcome.status === "failed") log(`session ${outcome.sessionId} failed: ${outcome.error?.code ?? "AKTS6001"} ${outcome.error?.message ?? ""}`.trimEnd());
}

function describe(err: unknown): string {
  if (isAktsError(err)) return `${err.code} ${err.message}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

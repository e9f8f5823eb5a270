/**
 * The HTTP server of `akts serve` (docs/server.md): public webhooks, admin routes behind a token, schedules, and
 * takeover of unfinished sessions (at start, and every third of the lease TTL). Shutdown drains: every request
 * gets 503, schedules stop, running sessions are parked at their next activity boundary (Engine.park) and left
 * unfinished for a live peer or the next start.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { isAktsError } from "../../errors";
import type { Engine } from "../engine";
import type { Trigger } from "../manifest";
import type { Store } from "../store/store";
import { hasToken } from "./admin-token";
import { handleAdmin } from "./admin";
import { handleValues } from "./values-routes";
import { ClientAbort } from "./body";
import { HttpError } from "./http-error";
import { describeError, makeHost, type HandlerResolver, type Host } from "./host";
import { startTakeover } from "./recovery";
import { sendError } from "./respond";
import { startSchedules } from "./schedules";
import { storeCheck, type StoreCheck } from "./store-check";
import { handleUi, isUiPath } from "./ui/ui";
import { handleWebhook } from "./webhooks";

export const DEFAULT_PORT = 9980;
export const DEFAULT_MAX_BODY = 1024 * 1024;
/** Open connections at most; more are closed as they arrive, so idle sockets cannot exhaust descriptors. */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/** A client must have sent its request's headers within this time, and its whole request within REQUEST_TIMEOUT_MS. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
/** An idle keep-alive connection is closed after this long. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

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
  /** Open connections at most (default DEFAULT_MAX_CONNECTIONS). */
  readonly maxConnections?: number;
  /** How often to look for sessions to take over: a third of the store's lease TTL. */
  readonly takeoverMs: number;
  /** One line of news (a failed session, a schedule that could not start a session). */
  readonly log: (line: string) => void;
  /** Told of every request as it arrives (the CLI's access log). */
  readonly onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

export interface RunningServer {
  readonly url: string;
  /**
   * Drains: every request gets 503 AKTS7008, schedules and takeover stop, and the sessions are parked
   * (Engine.park) within `graceMs`; then the listener closes. Resolves when the process may exit: the store is closed.
   */
  shutdown(graceMs: number): Promise<{ quiet: boolean }>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = makeHost(options);
  const check = storeCheck(options.store, options.log);
  let draining = false;
  const server = http.createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, connectionsCheckingInterval: 1_000 },
    (req, res) => {
      options.onRequest?.(req, res);
      if (draining) {
        req.resume();
        return sendError(res, 503, "AKTS7008", "the server is shutting down", {}, { connection: "close" });
      }
      route(host, options, check, req, res).catch((err) => fail(options.log, check, res, err));
    },
  );
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const stopSchedules = startSchedules(host);
  const takeover = startTakeover(host, options.takeoverMs);
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    async shutdown(graceMs) {
      draining = true;
      stopSchedules();
      takeover.stop();
      check.close();
      const parked = await options.engine.park(graceMs);
      // Sync requests whose session was parked are answered by now; cut whatever still waits on a session that
      // stays in a wait (it is unfinished in the store either way).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 200))]);
      server.closeAllConnections();
      await options.store.close();
      return parked;
    },
  };
}

/** A trigger's own webhook path, with nothing to decode or normalize (no `%`, `.`, query or sub-path). */
const PLAIN_WEBHOOK = /^\/webhooks\/[\w-]+$/;
const WEBHOOKS = "/webhooks/";
/** The query of a path that has none; only read. */
const NO_QUERY = new URLSearchParams();

async function route(host: Host, options: ServerOptions, check: StoreCheck, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const target = req.url ?? "/";
  // Most requests: routed as a URL parser would route them (the same path and parts), without one.
  if (PLAIN_WEBHOOK.test(target)) {
    check.assertPresent();
    return handleWebhook(host, options.maxBody, target.slice(WEBHOOKS.length), req, res, { pathname: target, searchParams: NO_QUERY });
  }
  const url = new URL(target, "http://localhost");
  let parts: string[];
  try {
    parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, `the path ${url.pathname} is not valid percent-encoding`);
  }
  // A name with a control character (NUL above all) cannot be a trigger, session or event name in any store.
  if (parts.some((p) => /[\u0000-\u001f\u007f]/.test(p))) throw new HttpError(400, `the path ${url.pathname} holds a control character`);
  // A trigger serves its sub-paths too (`/webhooks/<trigger>/a/b`): the handler reads `data.url.path_suffix`.
  if (parts[0] === "webhooks" && parts.length >= 2) {
    check.assertPresent();
    return handleWebhook(host, options.maxBody, parts[1], req, res, url);
  }
  if (parts[0] === "sessions" || parts[0] === "values") {
    if (!hasToken(req.headers.authorization, options.adminToken)) {
      throw new HttpError(401, "the admin routes need 'Authorization: Bearer <token>' with the server's admin token", { "www-authenticate": "Bearer" });
    }
    check.assertPresent();
    if (parts[0] === "values") return handleValues(host, parts.slice(1), req, res);
    return handleAdmin(host, options.maxBody, parts.slice(1), url, req, res);
  }
  if (isUiPath(url.pathname)) return handleUi(url.pathname, req, res);
  throw new HttpError(404, `no route ${url.pathname}`);
}

/**
 * Answers an error: refusals with their status, a missing store or an unreachable one with 503, other akts errors
 * (a handler that cannot load) and bugs with 500. A client that went away gets nothing, and no log line.
 */
function fail(log: (line: string) => void, check: StoreCheck, res: http.ServerResponse, thrown: unknown): void {
  if (thrown instanceof ClientAbort) return void res.destroy();
  const err = check.explains(thrown) ?? thrown;
  if (!(err instanceof HttpError)) log(`request failed: ${describeError(err)}`);
  if (res.headersSent) return void res.destroy();
  // Unread request data would otherwise be taken for the next request on the connection.
  res.setHeader("connection", "close");
  if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message, {}, err.headers);
  if (isAktsError(err)) return sendError(res, err.code === "AKTS4004" ? 503 : 500, err.code, err.message);
  sendError(res, 500, "AKTS7010", "internal server error");
}

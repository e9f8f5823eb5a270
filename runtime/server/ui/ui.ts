/**
 * The session page (docs/ui.md): `GET /` and its two files under `/ui/`. They are public and hold no data: the
 * page asks for the admin token and reads everything through the admin routes with it. The policy header lets the
 * page load only its own files and talk only to this server, and no inline script runs.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "../http-error";
import { PAGE, SCRIPT, STYLE } from "./assets";

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

function asset(text: string, type: string): Asset {
  const body = Buffer.from(text, "utf8");
  return { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
}

const ASSETS: Record<string, Asset> = {
  "/": asset(PAGE, "text/html; charset=utf-8"),
  "/ui/app.js": asset(SCRIPT, "text/javascript; charset=utf-8"),
  "/ui/app.css": asset(STYLE, "text/css; charset=utf-8"),
};

/** The bytes the page loads, all of it: the budget (150 kB) is checked against this. */
export const UI_BYTES = Object.values(ASSETS).reduce((n, a) => n + a.body.length, 0);

const POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** True when `pathname` is the page or one of its files; `handleUi` answers it. */
export function isUiPath(pathname: string): boolean {
  return Object.hasOwn(ASSETS, pathname);
}

export function handleUi(pathname: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, `${req.method} is not allowed here (GET)`, { allow: "GET, HEAD" });
  const a = ASSETS[pathname];
  const headers = {
    "content-type": a.type,
    "content-length": String(a.body.length),
    etag: a.etag,
    // The page is revalidated every time, so a new akts is picked up at once; the etag makes that a 304.
    "cache-control": "no-cache",
    "content-security-policy": POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  if (req.headers["if-none-match"] === a.etag) {
    res.writeHead(304, { etag: a.etag, "cache-control": "no-cache" });
    return void res.end();
  }
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : a.body);
}

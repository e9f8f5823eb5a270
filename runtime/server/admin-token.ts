/**
 * The admin token guards the `/sessions` routes. It is made once per store (32 random bytes) and kept in
 * `<store>/admin-token`, mode 0600 from the moment the file exists: it is written under a temporary name opened
 * with that mode and then linked into place, so no reader ever sees it half-written or with wider permissions,
 * and of two servers starting at once on one store, both end up with the same token.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { AktsError } from "../../errors";

export const TOKEN_FILE = "admin-token";

export interface AdminToken {
  readonly token: string;
  readonly file: string;
}

export function loadOrCreateToken(storeDir: string): AdminToken {
  const file = path.join(storeDir, TOKEN_FILE);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(storeDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      fs.writeSync(fd, randomBytes(32).toString("base64url") + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      // Another server won the race: its token is the store's token.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new AktsError("AKTS9002", `the admin token file is readable by others (mode ${mode.toString(8)})`, {
      location: { file },
      hint: `chmod 600 ${file}, or remove it to make a new token`,
    });
  }
  const token = fs.readFileSync(file, "utf8").trim();
  if (token.length < 16) throw new AktsError("AKTS9002", "the admin token file holds no token", { location: { file }, hint: "remove it to make a new token" });
  return { token, file };
}

/** `Authorization: Bearer <token>`, compared in constant time (over digests, so the length leaks nothing either). */
export function hasToken(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!m) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(m[1]), digest(token));
}

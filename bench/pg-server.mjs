/**
 * A private PostgreSQL server for the e2e-pg row and `--peers` (docs/performance.md), from the Debian binaries under
 * /usr/lib/postgresql/<version>/bin. Unlike the tests' server (test/pg-server.ts) it keeps PostgreSQL's durable
 * defaults (`fsync` on, `synchronous_commit` on): a commit here costs what it costs a user, for akts and DBOS alike.
 * Trust over TCP on 127.0.0.1: the bench measures speed, not logins. As root it runs as the `postgres` user.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./lib.mjs";

const USER = "akts";

function binDir() {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))) : [];
  if (versions.length === 0) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: the e2e-pg row needs them");
  return { bin: path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], "bin"), version: versions[0] };
}

/** Starts the server; resolves with `{ url(database), createDatabase(name), version, stop() }`. */
export async function startPgServer() {
  const { bin, version } = binDir();
  const root = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-bench-pg-"));
  const data = path.join(dir, "data");
  const socket = path.join(dir, "socket");
  fs.mkdirSync(socket);
  if (root) {
    const id = (flag) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }));
    for (const p of [dir, socket]) fs.chownSync(p, id("-u"), id("-g"));
  }
  const asServer = (tool, args) => execFileSync(root ? "runuser" : path.join(bin, tool), root ? ["-u", "postgres", "--", path.join(bin, tool), ...args] : args, { stdio: "pipe" });
  asServer("initdb", ["-D", data, "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"]);
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      asServer("pg_ctl", ["-D", data, "-l", path.join(dir, "log"), "-w", "-t", "120", "-o", `-p ${port} -k ${socket} -c listen_addresses=127.0.0.1 -c max_connections=200`, "start"]);
      break;
    } catch (err) {
      if (attempt >= 3) throw new Error(`PostgreSQL did not start: ${err.message}\n${fs.readFileSync(path.join(dir, "log"), "utf8")}`);
    }
  }
  const url = (database) => `postgres://${USER}@127.0.0.1:${port}/${database}`;
  return {
    version,
    url,
    createDatabase(name) {
      execFileSync(path.join(bin, "psql"), ["-h", "127.0.0.1", "-p", String(port), "-U", USER, "-d", "postgres", "-qc", `CREATE DATABASE ${name}`], { stdio: "pipe" });
      return url(name);
    },
    stop() {
      try {
        asServer("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

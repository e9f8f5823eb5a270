/**
 * A private PostgreSQL server for one test file, from the Debian binaries under /usr/lib/postgresql/<version>/bin:
 * its own data folder, a free port on 127.0.0.1, its unix socket inside the data folder. The role `akts` has a
 * password over TCP (so tests can get authentication wrong) and trust over the socket. PostgreSQL refuses to run
 * as root, so as root the server runs as the `postgres` user the package creates.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";

export interface PgServer {
  readonly port: number;
  readonly password: string;
  /** The folder of the server's Unix socket (trust, no password). */
  readonly socket: string;
  /** A URL for `database` (created by createDatabase), with the password. */
  url(database: string): string;
  createDatabase(name: string): Promise<string>;
  /** Runs SQL in `database` (for tests that reach behind the store). */
  sql(database: string, text: string, params?: unknown[]): Promise<unknown[]>;
  /** `pg_ctl restart -m <mode>`: `fast` ends the sessions' connections, `immediate` crashes the server (recovery on start). */
  restart(mode: "fast" | "immediate"): void;
  stop(): void;
}

const USER = "akts";

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))) : [];
  if (versions.length === 0) {
    throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install Debian's postgresql package): the PostgreSQL store tests need them");
  }
  return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], "bin");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startPgServer(): Promise<PgServer> {
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-pg-"));
  const asServer = (tool: string, args: string[]) =>
    execFileSync(root ? "runuser" : path.join(bin, tool), root ? ["-u", "postgres", "--", path.join(bin, tool), ...args] : args, { stdio: "pipe" });
  const password = randomBytes(12).toString("hex");
  const data = path.join(dir, "data");
  const socket = path.join(dir, "socket");
  fs.mkdirSync(socket);
  fs.writeFileSync(path.join(dir, "pw"), password);
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
    for (const p of [dir, socket, path.join(dir, "pw")]) fs.chownSync(p, uid, gid);
  }
  asServer("initdb", ["-D", data, "-U", USER, "--pwfile", path.join(dir, "pw"), "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"]);
  let port = 0;
  // Another process may take the free port before the server binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      asServer("pg_ctl", ["-D", data, "-l", path.join(dir, "log"), "-w", "-t", "120", "-o", `-p ${port} -k ${socket} -c listen_addresses=127.0.0.1 -c fsync=off`, "start"]);
      break;
    } catch (err) {
      if (attempt >= 3) throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${fs.readFileSync(path.join(dir, "log"), "utf8")}`);
    }
  }
  const url = (database: string) => `postgres://${USER}:${password}@127.0.0.1:${port}/${database}`;
  const sql = async (database: string, text: string, params: unknown[] = []) => {
    const client = new Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    port,
    password,
    socket,
    url,
    createDatabase: async (name) => {
      await sql("postgres", `CREATE DATABASE ${name}`);
      return url(name);
    },
    sql,
    restart: (mode) => asServer("pg_ctl", ["-D", data, "-l", path.join(dir, "log"), "-m", mode, "-w", "-t", "120", "restart"]),
    stop: () => {
      try {
        asServer("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

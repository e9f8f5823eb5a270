/**
 * `akts serve <manifest | bundle> [--port N] [--host H] [--store dir|url] [--max-body bytes] [--max-connections N]
 * [--grace seconds] [--log text|json] [--print-token] [--keep-versions]`: serves the project's webhooks and schedules (runtime/server),
 * takes over its orphaned sessions, and writes an access log and session lines (cli/serve-log.ts). The ready line
 * names the URL; SIGTERM or SIGINT drains and exits 0.
 */
import { AktsError } from "../../errors";
import { loadOrCreateToken } from "../../runtime/server/admin-token";
import { DEFAULT_MAX_BODY, DEFAULT_MAX_CONNECTIONS, DEFAULT_PORT, startServer } from "../../runtime/server/server";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { FileStore, storeLocation } from "../../runtime/store";
import { STORE_OPTION } from "../store";
import { DEFAULT_GRACE_S, drainOnSignal, openRunner, wholeNumber } from "../runner";
import { LOG_FORMATS, batchedStderr, serveLog, type LogFormat } from "../serve-log";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("serve", argv, {
    options: { port: ["--port", "-p"], host: ["--host"], maxBody: ["--max-body"], maxConnections: ["--max-connections"], grace: ["--grace"], log: ["--log"], ...STORE_OPTION },
    flags: { printToken: ["--print-token"], keepVersions: ["--keep-versions"] },
  });
  const [target, extra] = args.positional;
  if (!target || extra !== undefined) throw usageError("serve");
  const port = wholeNumber("--port", args.options.port, DEFAULT_PORT, 0, 65535);
  const maxBody = wholeNumber("--max-body", args.options.maxBody, DEFAULT_MAX_BODY, 1);
  const maxConnections = wholeNumber("--max-connections", args.options.maxConnections, DEFAULT_MAX_CONNECTIONS, 1);
  const graceMs = wholeNumber("--grace", args.options.grace, DEFAULT_GRACE_S, 0) * 1000;
  const format = args.options.log ?? "text";
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new AktsError("AKTS9001", `unknown --log '${format}' (use ${LOG_FORMATS.join(", ")})`);
  const logger = serveLog(format as LogFormat, batchedStderr());
  const runner = await openRunner(target, args.options.store, logger, { keepVersions: args.flags.keepVersions });
  // Compiled before listening: a project with error findings is refused, as `akts build` refuses it.
  runner.loaded.prepare();
  // A database store has no folder of its own: the token then lives in the local store folder beside the target.
  const admin = loadOrCreateToken(runner.store instanceof FileStore ? runner.store.location : storeLocation({ manifest: target }));
  const server = await startServer({ ...runner, adminToken: admin.token, host: args.options.host ?? "127.0.0.1", port, maxBody, maxConnections, onRequest: logger.request }).catch(
    (err: NodeJS.ErrnoException) => {
      throw new AktsError("AKTS9010", `cannot listen on ${args.options.host ?? "127.0.0.1"}:${port}: ${err.code ?? err.message}`);
    },
  );
  process.stdout.write(`akts serve: admin token in ${admin.file}\n`);
  if (args.flags.printToken) process.stdout.write(`akts serve: admin token ${admin.token}\n`);
  process.stdout.write(`akts serve: listening on ${server.url}\n`);
  return drainOnSignal(runner, graceMs, (ms) => server.shutdown(ms));
}

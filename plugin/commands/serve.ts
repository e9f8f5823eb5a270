/**
 * `akts serve <manifest | bundle> [--port N] [--host H] [--store dir|url] [--max-body bytes] [--grace seconds] [--print-token]`:
 * serves the project's webhooks and schedules (runtime/server). The ready line names the URL; SIGTERM or SIGINT
 * drains and exits 0.
 */
import { AktsError } from "../../errors";
import { Engine } from "../../runtime/engine";
import { findTrigger } from "../../runtime/manifest";
import { loadOrCreateToken } from "../../runtime/server/admin-token";
import { DEFAULT_MAX_BODY, DEFAULT_PORT, startServer } from "../../runtime/server/server";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { loadTarget } from "../handlers";
import { FileStore, openStore, storeLocation } from "../../runtime/store";
import { STORE_OPTION } from "../store";

const DEFAULT_GRACE_S = 30;

function wholeNumber(option: string, text: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new AktsError("AKTS9001", `${option} must be a whole number from ${min} to ${max}, not '${text}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("serve", argv, {
    options: { port: ["--port", "-p"], host: ["--host"], maxBody: ["--max-body"], grace: ["--grace"], ...STORE_OPTION },
    flags: { printToken: ["--print-token"] },
  });
  const [target, extra] = args.positional;
  if (!target || extra !== undefined) throw usageError("serve");
  const port = wholeNumber("--port", args.options.port, DEFAULT_PORT, 0, 65535);
  const maxBody = wholeNumber("--max-body", args.options.maxBody, DEFAULT_MAX_BODY, 1);
  const graceMs = wholeNumber("--grace", args.options.grace, DEFAULT_GRACE_S, 0) * 1000;
  const project = loadTarget(target);
  // Compiled before listening: a project with error findings is refused, as `akts build` refuses it.
  project.prepare();
  // The store sits beside the target (a manifest, or a bundle folder), as for `akts run`.
  const store = await openStore({ store: args.options.store, manifest: target });
  // A database store has no folder of its own: the token then lives in the local store folder beside the target.
  const admin = loadOrCreateToken(store instanceof FileStore ? store.location : storeLocation({ manifest: target }));
  const log = (line: string) => process.stderr.write(`akts serve: ${line}\n`);
  const server = await startServer({
    engine: new Engine({ store }),
    store,
    project: project.manifest.project,
    triggers: project.manifest.triggers,
    resolve: async (name) => {
      const { ref, handler } = await project.handler(findTrigger(project.manifest, name));
      return { trigger: ref, handler };
    },
    adminToken: admin.token,
    host: args.options.host ?? "127.0.0.1",
    port,
    maxBody,
    log,
  }).catch((err: NodeJS.ErrnoException) => {
    throw new AktsError("AKTS9001", `cannot listen on ${args.options.host ?? "127.0.0.1"}:${port}: ${err.code ?? err.message}`);
  });
  process.stdout.write(`akts serve: admin token in ${admin.file}\n`);
  if (args.flags.printToken) process.stdout.write(`akts serve: admin token ${admin.token}\n`);
  process.stdout.write(`akts serve: listening on ${server.url}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log(`${signal}: draining (at most ${graceMs / 1000} s)`);
  const { quiet } = await server.shutdown(graceMs);
  log(quiet ? "stopped; unfinished sessions resume on the next start" : "grace period over; sessions still running are resumed on the next start");
  // Sessions parked inside a wait may still hold timers; they are unfinished in the store, so the process can end.
  setImmediate(() => process.exit(0));
  return 0;
}

/**
 * `akts worker <manifest | bundle> [--store dir|url] [--grace seconds]`: runs the project's sessions without
 * serving HTTP. It takes over every unfinished session of the project that no live runner holds, at start and
 * every third of the lease TTL, so sessions of a runner that died or stopped finish without a restart. Prints a
 * ready line, and a line per session it resumes and per session that ends (as `akts serve` does, cli/serve-log.ts);
 * SIGTERM or SIGINT drains (as `akts serve` does) and exits 0.
 */
import { startWorker } from "../../runtime/server/worker";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { STORE_OPTION } from "../store";
import { DEFAULT_GRACE_S, drainOnSignal, openRunner, wholeNumber } from "../runner";
import { batchedStderr, serveLog } from "../serve-log";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("worker", argv, { options: { grace: ["--grace"], ...STORE_OPTION } });
  const [target, extra] = args.positional;
  if (!target || extra !== undefined) throw usageError("worker");
  const graceMs = wholeNumber("--grace", args.options.grace, DEFAULT_GRACE_S, 0) * 1000;
  const runner = await openRunner(target, args.options.store, serveLog("text", batchedStderr(), "worker"));
  const worker = startWorker(runner);
  process.stdout.write(`akts worker: running ${runner.project} from ${runner.store.location}, looking for sessions every ${runner.takeoverMs / 1000} s\n`);
  return drainOnSignal(runner, graceMs, (ms) => worker.shutdown(ms));
}

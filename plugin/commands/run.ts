/**
 * `akts run <manifest | bundle folder> --trigger <name> [--event file.json|-] [--store dir|url]`: one session,
 * result as JSON.
 */
import * as fs from "node:fs";
import { AktsError } from "../../errors";
import { findTrigger } from "../../runtime/manifest";
import { Engine } from "../../runtime/engine";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { loadTarget } from "../handlers";
import { STORE_OPTION, withStore } from "../store";

function readEvent(source: string | undefined): unknown {
  if (source === undefined) return {};
  const text = source === "-" ? fs.readFileSync(0, "utf8") : readFile(source);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AktsError("AKTS9001", `event is not valid JSON: ${(err as Error).message}`, { location: { file: source } });
  }
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    throw new AktsError("AKTS9004", `event file not found: ${file}`, { location: { file } });
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("run", argv, { options: { trigger: ["--trigger", "-t"], event: ["--event", "-e"], ...STORE_OPTION } });
  const [target] = args.positional;
  if (!target || !args.options.trigger) throw usageError("run");
  const project = loadTarget(target);
  const trigger = findTrigger(project.manifest, args.options.trigger);
  const event = readEvent(args.options.event);
  const { ref, handler } = await project.handler(trigger);
  const outcome = await withStore({ store: args.options.store, manifest: target }, (store) => new Engine({ store }).start(ref, handler, event));
  process.stdout.write(JSON.stringify({ session_id: outcome.sessionId, status: outcome.status, result: outcome.result, error: outcome.error }) + "\n");
  return outcome.status === "completed" ? 0 : 1;
}

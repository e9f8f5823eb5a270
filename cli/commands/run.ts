/**
 * `akts run <manifest | bundle folder> --trigger <name> [--event file.json|-] [--store dir|url] [--verbose]`: one
 * session, result as JSON on standard output; progress on standard error (cli/run-progress.ts).
 */
import * as fs from "node:fs";
import { AktsError } from "../../errors";
import { findTrigger } from "../../runtime/manifest";
import { Engine, type Outcome, type TriggerRef } from "../../runtime/engine";
import { manualEvent } from "../../runtime/event";
import { newSessionId } from "../../runtime/store";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { loadTarget, sessionTrigger } from "../handlers";
import { observeStore } from "../observe-store";
import { runProgress, shellWord, type RunProgress } from "../run-progress";
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

/** SIGINT (Ctrl-C) ends the run at once, as it always did, but says what the store kept and how to finish it. */
function onInterrupt(sessionId: string, durable: boolean, progress: RunProgress, resumeArgs: readonly string[]): () => void {
  const handler = () => {
    const resume = ["akts", "resume", ...resumeArgs].map(shellWord).join(" ");
    const kept = durable
      ? `its journal keeps ${progress.activities} ${progress.activities === 1 ? "activity" : "activities"}; \`${resume}\` replays them and goes on`
      : `it is non-durable: \`${resume}\` reruns it from the start`;
    process.stderr.write(`akts run: interrupted; session ${sessionId} is unfinished in the store: ${kept}\n`);
    process.exit(130);
  };
  process.once("SIGINT", handler);
  return () => process.off("SIGINT", handler);
}

/** One line on standard error per session the run started with start(). */
function reportChild({ sessionId, status, error }: Outcome): void {
  process.stderr.write(`akts run: started session ${sessionId} ${status}${error ? `: ${error.code ?? error.name} ${error.message}` : ""}\n`);
}

function reportUnrun(err: unknown): void {
  process.stderr.write(`akts run: a started session could not run: ${(err as Error)?.message ?? String(err)}\n`);
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("run", argv, { options: { trigger: ["--trigger", "-t"], event: ["--event", "-e"], ...STORE_OPTION }, flags: { verbose: ["--verbose", "-v"] } });
  const [target, extra] = args.positional;
  if (!target || extra !== undefined || !args.options.trigger) throw usageError("run");
  const project = loadTarget(target);
  const trigger = findTrigger(project.manifest, args.options.trigger);
  const data = readEvent(args.options.event);
  const { ref, handler } = await project.handler(trigger);
  // Sessions the handler starts with start() run here too, and the run ends when they have.
  const childHandler = async (child: TriggerRef) => (await project.handler(sessionTrigger(project.manifest, child.trigger, child.handler))).handler;
  // The store another command reaches this session through: the one given, else $AKTS_STORE, else beside the target.
  const storeArgs = args.options.store ? ["--store", args.options.store] : process.env.AKTS_STORE ? [] : ["--manifest", target];
  const progress = runProgress((line) => process.stderr.write(line), storeArgs, args.flags.verbose);
  const sessionId = newSessionId();
  const outcome = await withStore({ store: args.options.store, manifest: target }, async (store) => {
    // Resume runs only the code it is told to (a journal never chooses it): the target, and the store if one was given.
    const resumeArgs = [fs.statSync(target).isDirectory() ? "--bundle" : "--manifest", target, ...(args.options.store ? ["--store", args.options.store] : [])];
    const stopListening = onInterrupt(sessionId, trigger.durable, progress, resumeArgs);
    try {
      const children: Promise<Outcome>[] = [];
      const engine = new Engine({ store: observeStore(store, progress), childHandler, onChild: (running) => children.push(running) });
      const parent = await engine.start(ref, handler, manualEvent(data, sessionId), sessionId);
      // Children may start children: the list grows while it is walked.
      for (let i = 0; i < children.length; i++) await children[i].then(reportChild, reportUnrun);
      return parent;
    } finally {
      stopListening();
    }
  });
  const set = outcome.outcome && { outcome: { [outcome.outcome.fn]: outcome.outcome.value } };
  process.stdout.write(JSON.stringify({ session_id: outcome.sessionId, status: outcome.status, result: outcome.result, error: outcome.error, ...set }) + "\n");
  return outcome.status === "completed" ? 0 : 1;
}

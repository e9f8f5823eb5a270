/**
 * `akts resume [--manifest m | --bundle dir] [--store dir|url] [--wait seconds]`: finishes every unfinished session
 * of the project (durable: replay; else rerun) with the code the operator names (operator-target.ts), never the code
 * a journal names. Prints one JSON line per session, saying what was done:
 * - `resumed`: run to its end here (`status`, `result`, `error` as `akts run` prints them);
 * - `finished`: another runner finished it meanwhile;
 * - `skipped`: a live runner holds it (`holder` names it), or it belongs to another project (`reason`);
 * - `started`: a session a resumed one started with `start()`, run to its end here.
 * The total goes to stderr, then what the sweep of the store removed (operator-sweep.ts). With `--wait`, sessions held by a live runner are claimed again until that many
 * seconds have passed (a runner that is stopped loses its lease once it expires). Exit 1 if a resumed session failed.
 */
import { Engine, type Outcome } from "../../runtime/engine";
import { UNFINISHED, type SessionSummary, type Store } from "../../runtime/store";
import { describeHolder } from "../../runtime/store/holder";
import { describeSwept, sweepOperatorState } from "../../runtime/store/operator-sweep";
import { AktsError } from "../../errors";
import { parseArgs } from "../args";
import { loadTarget, sessionTrigger, type LoadedProject } from "../handlers";
import { STORE_OPTION, withStore } from "../store";
import { assertProject, operatorTarget } from "../operator-target";
import { wholeNumber } from "../runner";

/** Sessions resumed at once (`akts serve` takes over all of its own at once; this bounds a backlog). */
const RESUME_CONCURRENCY = 64;
/** How often `--wait` tries the held sessions again. */
const WAIT_POLL_MS = 250;

type Line = { action: "resumed" | "finished" | "skipped" | "started"; session_id: string; [key: string]: unknown };

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("resume", argv, { options: { manifest: ["--manifest", "-m"], bundle: ["--bundle", "-b"], wait: ["--wait"], ...STORE_OPTION } });
  if (args.options.bundle && args.options.manifest) throw new AktsError("AKTS9001", "pass --bundle or --manifest, not both");
  const store = args.options.store ?? (process.env.AKTS_STORE || undefined);
  const target = operatorTarget(args.options.bundle ?? args.options.manifest, store);
  const waitMs = wholeNumber("--wait", args.options.wait, 0, 0) * 1000;
  const project = loadTarget(target);
  return withStore({ store, manifest: target }, (opened) => resumeAll(opened, project, target, waitMs));
}

async function resumeAll(store: Store, project: LoadedProject, target: string, waitMs: number): Promise<number> {
  // Sessions the resumed ones start with start() run here too.
  const children: Promise<Outcome>[] = [];
  const engine = new Engine({
    store,
    childHandler: async (ref) => (await project.handler(sessionTrigger(project.manifest, ref.trigger, ref.handler))).handler,
    onChild: (running) => children.push(running),
  });
  const name = project.manifest.project;
  const print = (line: Line) => process.stdout.write(JSON.stringify(line) + "\n");
  const counts = { resumed: 0, finished: 0, skipped: 0, started: 0, failed: 0 };
  const report = (line: Line) => {
    counts[line.action]++;
    print(line);
  };
  let pending: SessionSummary[] = [];
  for (const summary of await store.unfinished()) {
    if (summary.project === name) pending.push(summary);
    else report({ action: "skipped", session_id: summary.id, status: summary.status, reason: `belongs to project '${summary.project}', not '${name}' of ${target}` });
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const held: SessionSummary[] = [];
    const queue = [...pending];
    const worker = async (): Promise<void> => {
      for (let summary; (summary = queue.shift()); ) {
        const outcome = await engine.resume(summary.id, async (header) => {
          assertProject(header, name, target);
          const { ref, handler } = await project.handler(sessionTrigger(project.manifest, header.trigger, header.handler));
          return { trigger: ref, handler };
        });
        if (outcome) {
          if (outcome.status !== "completed") counts.failed++;
          report({ action: "resumed", session_id: outcome.sessionId, status: outcome.status, result: outcome.result, error: outcome.error });
          continue;
        }
        const now = await store.get(summary.id);
        if (now && !UNFINISHED.includes(now.status)) report({ action: "finished", session_id: summary.id, status: now.status });
        else held.push(summary);
      }
    };
    await Promise.all(Array.from({ length: RESUME_CONCURRENCY }, worker));
    if (held.length === 0 || Date.now() >= deadline) {
      for (const summary of held) {
        report({ action: "skipped", session_id: summary.id, status: summary.status, holder: (await describeHolder(store, summary.id)) ?? "a live runner" });
      }
      break;
    }
    pending = held;
    // The holder's lease TTL is its own (it may differ from this process's): look again often.
    await new Promise((r) => setTimeout(r, Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now()))));
  }
  for (let i = 0; i < children.length; i++) {
    const child = await children[i];
    if (child.status !== "completed") counts.failed++;
    report({ action: "started", session_id: child.sessionId, status: child.status, result: child.result, error: child.error });
  }
  const total = counts.resumed + counts.finished + counts.skipped;
  // Always said, so a resume that found nothing to do says so.
  process.stderr.write(`akts resume: ${total} unfinished: ${counts.resumed} resumed (${counts.failed} failed), ${counts.finished} finished elsewhere, ${counts.skipped} skipped\n`);
  // What the finished sessions left behind (cancellation requests, queue entries, expired keys) goes with them.
  const swept = describeSwept(await sweepOperatorState(store));
  if (swept) process.stderr.write(`akts resume: ${swept}\n`);
  return counts.failed > 0 ? 1 : 0;
}

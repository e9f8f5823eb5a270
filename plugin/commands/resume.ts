/**
 * `akts resume [--store dir|url] [--manifest m | bundle folder]`: finishes every unfinished session (durable:
 * replay; else rerun), each with the target its journal names unless `--manifest` says otherwise.
 */
import * as path from "node:path";
import { AktsError } from "../../errors";
import { findTrigger } from "../../runtime/manifest";
import { Engine } from "../../runtime/engine";
import type { HeaderRecord } from "../../runtime/journal";
import { parseArgs } from "../args";
import { loadTarget, type LoadedProject } from "../handlers";
import { STORE_OPTION, withStore } from "../store";
import type { SessionSummary, Store } from "../../runtime/store";

/** Sessions of one project resumed at once (`akts serve` recovers all of its own at once; this bounds a backlog). */
const RESUME_CONCURRENCY = 64;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("resume", argv, { options: { manifest: ["--manifest", "-m"], ...STORE_OPTION } });
  return withStore({ store: args.options.store, manifest: args.options.manifest }, (store) => resumeAll(store, args.options.manifest));
}

async function resumeAll(store: Store, manifest: string | undefined): Promise<number> {
  const engine = new Engine({ store });
  const projects = new Map<string, LoadedProject>();
  const projectFor = (header: HeaderRecord): LoadedProject => {
    const target = manifest ? path.resolve(manifest) : header.manifest;
    if (!target) throw new AktsError("AKTS9001", `session ${header.sessionId} does not name its manifest: pass --manifest`);
    let project = projects.get(target);
    if (!project) projects.set(target, (project = loadTarget(target)));
    return project;
  };
  let failed = 0;
  // Sessions of one project resume concurrently, a bounded number at a time, so their journal syncs overlap;
  // projects take turns, because a project's vars are set in the process-wide environment (docs/runtime.md).
  const byProject = new Map<string, SessionSummary[]>();
  for (const summary of await store.unfinished()) {
    const group = byProject.get(summary.project);
    if (group) group.push(summary);
    else byProject.set(summary.project, [summary]);
  }
  let queue: SessionSummary[] = [];
  const worker = async (): Promise<void> => {
    for (let summary; (summary = queue.shift()); ) {
      const outcome = await engine.resume(summary.id, async (header) => {
        const project = projectFor(header);
        const { ref, handler } = await project.handler(findTrigger(project.manifest, header.trigger));
        return { trigger: ref, handler };
      });
      if (!outcome) continue;
      if (outcome.status !== "completed") failed++;
      process.stdout.write(JSON.stringify({ session_id: outcome.sessionId, status: outcome.status, result: outcome.result, error: outcome.error }) + "\n");
    }
  };
  for (const group of byProject.values()) {
    queue = group;
    await Promise.all(Array.from({ length: RESUME_CONCURRENCY }, worker));
  }
  return failed > 0 ? 1 : 0;
}

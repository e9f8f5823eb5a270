/**
 * `akts diff <old> <new>` and `akts diff --store s [new]` (docs/versioning.md): what a deploy of the new code does to
 * sessions recorded on the old. The replay shapes of the two versions are compared function by function, each
 * change classified (compiler/shape-diff.ts); with a store, every unfinished session of the project is replayed on
 * the new code with nothing run live (as `akts replay` does), which says whether it replays or at which entry it
 * diverges, and where in both versions. Exit 1 when sessions that may be in flight would break: without a store,
 * any change that is not safe for every unfinished session; with one, any unfinished session that diverges.
 */
import { diffShapes, type ShapeChange } from "../../compiler/shape-diff";
import type { ReplayShape } from "../../compiler/replay-shape";
import { AktsError, formatError } from "../../errors";
import { recordedFingerprint } from "../../runtime/journal";
import { findTrigger } from "../../runtime/manifest";
import { replayOnly } from "../../runtime/replay-only";
import { storeLocation, type Store } from "../../runtime/store";
import { parseArgs } from "../args";
import { loadTarget, type CodeVersion, type LoadedProject } from "../handlers";
import { operatorTarget } from "../operator-target";
import { withStore } from "../store";
import { readShapeFile } from "../replay-shape-file";
import { usageError } from "../usage";
import { aktsVersion } from "../version";
import { diffSarif } from "./diff-sarif";

const FORMATS = ["text", "json", "sarif"] as const;

export interface SessionVerdict {
  readonly session_id: string;
  readonly trigger: string;
  /** The fingerprint the session started on. */
  readonly fingerprint: string;
  /** `replays`: clean up to its journal's end; `diverges`: at `entry`; `reruns`: non-durable, nothing to replay. */
  readonly verdict: "replays" | "diverges" | "reruns";
  readonly entry?: number;
  /** For `diverges`: the divergence, both sites named, and the guard that keeps such sessions on the old code. */
  readonly message?: string;
  readonly guard?: string;
}

export interface DiffReport {
  readonly old?: string;
  readonly new: string;
  readonly changes: readonly (ShapeChange & { readonly guard?: string })[];
  /** Only with --store. */
  readonly sessions?: readonly SessionVerdict[];
  /** Whether a session that may be in flight breaks: the exit status. */
  readonly breaking: boolean;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("diff", argv, { options: { store: ["--store"], format: ["--format", "-f"] } });
  const format = args.options.format ?? "text";
  if (!(FORMATS as readonly string[]).includes(format)) throw new AktsError("AKTS9001", `unknown --format '${format}' (use ${FORMATS.join(", ")})`);
  const report = args.options.store === undefined ? await betweenVersions(args.positional) : await againstStore(args.options.store, args.positional);
  if (format === "json") process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  else if (format === "sarif") process.stdout.write(JSON.stringify(diffSarif(report, aktsVersion()), null, 2) + "\n");
  else process.stdout.write(text(report));
  return report.breaking ? 1 : 0;
}

async function betweenVersions(positional: readonly string[]): Promise<DiffReport> {
  const [before, after, extra] = positional;
  if (!before || !after || extra !== undefined) throw usageError("diff");
  const old = loadTarget(before).code();
  const loaded = loadTarget(after);
  const now = loaded.code();
  const changes = guarded(diffShapes(old.shape, now.shape, entries(loaded, now)), now.fingerprint);
  return { old: old.fingerprint, new: now.fingerprint, changes, breaking: changes.some((c) => c.verdict !== "safe") };
}

async function againstStore(storeSpec: string, positional: readonly string[]): Promise<DiffReport> {
  const [named, extra] = positional;
  if (extra !== undefined) throw usageError("diff");
  const target = operatorTarget(named, storeSpec);
  const loaded = loadTarget(target);
  const now = loaded.code();
  return withStore({ store: storeSpec, manifest: target }, async (store) => {
    const sessions: SessionVerdict[] = [];
    for (const summary of await store.unfinished()) {
      if (summary.project === loaded.manifest.project) sessions.push(await verdictOf(store, summary.id, loaded, now));
    }
    // The kept versions (akts serve --keep-versions) the sessions started on show what changed since.
    const versions = store.keptVersions(storeLocation({ manifest: target }));
    const olds = new Map<string, ReplayShape>();
    for (const s of sessions) {
      const kept = s.fingerprint !== now.fingerprint ? await versions.read(s.fingerprint) : undefined;
      if (kept) olds.set(s.fingerprint, readShapeFile(kept.dir).shape);
    }
    const changes = [...olds.values()].flatMap((shape) => guarded(diffShapes(shape, now.shape, entries(loaded, now)), now.fingerprint));
    return { new: now.fingerprint, changes, sessions, breaking: sessions.some((s) => s.verdict === "diverges") };
  });
}

/** Replays one unfinished session on the new code, nothing live: its verdict. */
async function verdictOf(store: Store, id: string, loaded: LoadedProject, now: CodeVersion): Promise<SessionVerdict> {
  const { records } = await store.read(id);
  const header = records[0];
  if (header?.t !== "header") throw new AktsError("AKTS4001", `session ${id}: journal has no header`);
  const base = { session_id: id, trigger: header.trigger, fingerprint: recordedFingerprint(header) };
  let handler;
  try {
    handler = (await loaded.handler(findTrigger(loaded.manifest, header.trigger))).handler;
  } catch (err) {
    if (!(err instanceof AktsError)) throw err;
    return { ...base, verdict: "diverges", entry: 1, message: formatError(err) };
  }
  const report = await replayOnly(records, handler, now.fingerprint);
  if (report.status === "nondurable") return { ...base, verdict: "reruns" };
  if (report.status !== "diverged") return { ...base, verdict: "replays", entry: report.lastEntry };
  const entry = /^entry #(\d+)/.exec(report.error!.message)?.[1];
  return { ...base, verdict: "diverges", ...(entry ? { entry: Number(entry) } : {}), message: formatError(report.error!), guard: guardFor(header.trigger, now.fingerprint) };
}

/** The keys of the trigger handlers in the replay shape (`program.ts#handler`): where steps may be appended safely. */
function entries(loaded: LoadedProject, code: CodeVersion): Set<string> {
  const keys = new Set(loaded.manifest.triggers.map((t) => `${t.call.file}#${t.call.export}`));
  return new Set(code.shape.functions.map((f) => f.key).filter((k) => keys.has(k)));
}

/** The `patched()` guard that keeps sessions recorded before a change on the old branch. */
function guardFor(name: string, fingerprint: string): string {
  return `if (patched("${name}-${fingerprint.slice(0, 6)}")) { new code } else { old code }`;
}

/** Each change that breaks sessions, with its guard. */
function guarded(changes: readonly ShapeChange[], fingerprint: string) {
  return changes.map((c) => (c.verdict === "safe" ? c : { ...c, guard: guardFor(c.function.slice(c.function.indexOf("#") + 1), fingerprint) }));
}

const LABEL = { safe: "safe", "safe-before": "safe before", breaking: "breaking" } as const;

function text(report: DiffReport): string {
  const out = [`akts diff: ${report.old ? `${report.old} → ` : ""}${report.new}${report.old === report.new ? " (the same replay shape)" : ""}`];
  for (const c of report.changes) {
    out.push(`  ${LABEL[c.verdict].padEnd(11)} ${c.message}`);
    const where = [c.old && `old ${c.old}`, c.new && `new ${c.new}`].filter(Boolean).join(", ");
    if (where) out.push(`  ${"".padEnd(11)} ${where}`);
    if (c.verdict === "safe-before") out.push(`  ${"".padEnd(11)} sessions that have not reached ${c.old} replay; those past it diverge there`);
    if (c.guard) out.push(`  ${"".padEnd(11)} guard it: ${c.guard}`);
  }
  for (const s of report.sessions ?? []) {
    const what =
      s.verdict === "replays"
        ? `replays cleanly on the new code (${s.entry} journal entr${s.entry === 1 ? "y" : "ies"})`
        : s.verdict === "reruns"
          ? "non-durable: reruns from the start"
          : `diverges: ${s.message}`;
    out.push(`${s.session_id} (${s.trigger}): ${what}`);
    if (s.guard) out.push(`  guard the change: ${s.guard}`);
  }
  const count = (v: string) => report.changes.filter((c) => c.verdict === v).length;
  const summary = [`${report.changes.length} change${report.changes.length === 1 ? "" : "s"} (${count("breaking")} breaking, ${count("safe-before")} safe before a point, ${count("safe")} safe)`];
  if (report.sessions) summary.push(`${report.sessions.length} unfinished session${report.sessions.length === 1 ? "" : "s"}, ${report.sessions.filter((s) => s.verdict === "diverges").length} would diverge`);
  out.push(summary.join("; "));
  return out.join("\n") + "\n";
}

/**
 * `akts replay <session-id | store folder | journal file | folder of journals> [--bundle dir | --manifest m] [--store dir|url]`:
 * replays recorded sessions against the current code without running any activity live, one line per journal.
 * Exit 1 if any diverges or cannot be read. Nothing is written: journals are read into memory and the store is
 * opened read-only. The code replayed is the one the operator names (operator-target.ts), never the one a
 * journal's header names; a journal of another project is refused (AKTS9007).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError, formatError } from "../../errors";
import { readJournal, type JournalRecord } from "../../runtime/journal";
import { replayOnly } from "../../runtime/replay-only";
import { FileStore, isDatabaseStore, isSessionId, storeLocation, type JournalRead } from "../../runtime/store";
import { withStore } from "../store";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { loadTarget, sessionTrigger, type LoadedProject } from "../handlers";
import { assertProject, operatorTarget } from "../operator-target";

/** A journal to replay: a file, or a session of a database store. */
interface JournalSource {
  readonly label: string;
  /** Where errors point. */
  readonly file: string;
  read(): Promise<JournalRead>;
}

const fileSource = (file: string): JournalSource => ({
  label: path.basename(file, ".journal"),
  file,
  // `repair: false`: a torn tail is reported, never cut; replay writes nothing.
  read: async () => readJournal(file, { repair: false }),
});

/** Every session of a file store folder, read without writing (a dead runner's torn tail is not cut). */
function storeSources(dir: string, only?: string): JournalSource[] | Promise<JournalSource[]> {
  const store = new FileStore(dir, "none", { readOnly: true });
  const source = (id: string): JournalSource => ({ label: id, file: path.join(dir, "segments"), read: () => store.read(id) });
  if (only !== undefined) return [source(only)];
  return store.list().then((sessions) => sessions.map((s) => source(s.id)).sort((a, b) => (a.label < b.label ? -1 : 1)));
}

const hasSegments = (dir: string) => fs.existsSync(path.join(dir, "segments"));

/**
 * The journals `input` names: a file store folder's sessions, a folder's `*.journal` files (journals of an older
 * store layout), one file, or a session of the store.
 */
async function journalSources(input: string, storeSpec: string | undefined, override: string | undefined): Promise<JournalSource[]> {
  const stat = fs.statSync(input, { throwIfNoEntry: false });
  if (stat?.isDirectory()) {
    if (hasSegments(input)) return storeSources(input);
    const files = fs.readdirSync(input).filter((f) => f.endsWith(".journal")).sort();
    if (files.length === 0) throw new AktsError("AKTS9004", `no *.journal files in ${input}, and it is no store`, { location: { file: input } });
    return files.map((f) => fileSource(path.join(input, f)));
  }
  if (stat) return [fileSource(input)];
  if (isDatabaseStore(storeSpec)) {
    return [{ label: input, file: input, read: () => withStore({ store: storeSpec, manifest: override }, (store) => store.read(input)) }];
  }
  const store = storeLocation({ dir: storeSpec, manifest: override });
  if (isSessionId(input) && hasSegments(store) && (await new FileStore(store, "none", { readOnly: true }).get(input))) return storeSources(store, input);
  throw new AktsError("AKTS9004", `no session ${input} in ${store}, and no such file`, { hint: "pass a session id with --store, or a journal file or folder" });
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("replay", argv, { options: { bundle: ["--bundle", "-b"], manifest: ["--manifest", "-m"], store: ["--store"] } });
  const [input, extra] = args.positional;
  if (!input || extra !== undefined) throw usageError("replay");
  if (args.options.bundle && args.options.manifest) throw new AktsError("AKTS9001", "pass --bundle or --manifest, not both");
  const override = args.options.bundle ?? args.options.manifest;
  const storeSpec = args.options.store ?? (process.env.AKTS_STORE || undefined);
  const sources = await journalSources(input, storeSpec, override);
  // Loaded when the first journal is read, so a journal that cannot be read is reported as such.
  let project: LoadedProject | undefined;
  const target = () => operatorTarget(override, storeSpec);
  const load = () => (project ??= loadTarget(target()));
  let failed = 0;
  for (const source of sources) {
    try {
      const line = await replayJournal(source, target, load);
      process.stdout.write(`${source.label}: ${line}\n`);
    } catch (err) {
      if (!(err instanceof AktsError)) throw err;
      failed++;
      process.stdout.write(`${source.label}: ${formatError(err)}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

/** Replays one journal; a divergence or a broken input is thrown as an AktsError. */
async function replayJournal(source: JournalSource, target: () => string, load: () => LoadedProject): Promise<string> {
  const { records, notices } = await source.read();
  const file = source.file;
  for (const notice of notices) process.stderr.write(`akts replay: ${notice}\n`);
  const header = records[0];
  if (header?.t !== "header") throw new AktsError("AKTS4001", "journal has no header", { location: { file } });
  const project = load();
  assertProject(header, project.manifest.project, target());
  const { ref, handler } = await project.handler(sessionTrigger(project.manifest, header.trigger, header.handler));
  const report = await replayOnly(records, handler, ref.codeHash);
  switch (report.status) {
    case "diverged":
      throw report.error!;
    case "nondurable":
      return "non-durable session: nothing is journaled to replay";
    case "unfinished":
      return `replays cleanly up to entry #${report.lastEntry}; the session is unfinished`;
    case "clean":
      return `replays cleanly (${report.activities} ${report.activities === 1 ? "activity" : "activities"}, ${endOf(records).ok ? "result" : "failure"} matches)`;
  }
}

function endOf(records: readonly JournalRecord[]): Extract<JournalRecord, { t: "end" }> {
  return records.findLast((r): r is Extract<JournalRecord, { t: "end" }> => r.t === "end")!;
}

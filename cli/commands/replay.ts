/**
 * `akts replay <session-id | journal file | folder of journals> [--bundle dir | --manifest m] [--store dir|url]`:
 * replays recorded sessions against the current code without running any activity live, one line per journal.
 * Exit 1 if any diverges or cannot be read. Nothing is written: journals are read into memory and the store is
 * never opened for writing. The code replayed is the one the operator names (operator-target.ts), never the one a
 * journal's header names; a journal of another project is refused (AKTS9007).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError, formatError } from "../../errors";
import { readJournal, type JournalRecord } from "../../runtime/journal";
import { replayOnly } from "../../runtime/replay-only";
import { isDatabaseStore, storeLocation, type JournalRead } from "../../runtime/store";
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

/** The journals `input` names: a folder's `*.journal` files, one file, or a session of the store. */
function journalSources(input: string, storeSpec: string | undefined, override: string | undefined): JournalSource[] {
  const stat = fs.statSync(input, { throwIfNoEntry: false });
  if (stat?.isDirectory()) {
    const files = fs.readdirSync(input).filter((f) => f.endsWith(".journal")).sort();
    if (files.length === 0) throw new AktsError("AKTS9004", `no *.journal files in ${input}`, { location: { file: input } });
    return files.map((f) => fileSource(path.join(input, f)));
  }
  if (stat) return [fileSource(input)];
  if (isDatabaseStore(storeSpec)) {
    // A database store is only read (a file store's read may repair a torn tail, so files are read directly).
    return [{ label: input, file: input, read: () => withStore({ store: storeSpec, manifest: override }, (store) => store.read(input)) }];
  }
  const store = storeLocation({ dir: storeSpec, manifest: override });
  const file = path.join(store, "sessions", `${input}.journal`);
  if (!fs.existsSync(file)) throw new AktsError("AKTS9004", `no session ${input} in ${store}, and no such file`, { hint: "pass a session id with --store, or a journal file or folder" });
  return [fileSource(file)];
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("replay", argv, { options: { bundle: ["--bundle", "-b"], manifest: ["--manifest", "-m"], store: ["--store"] } });
  const [input, extra] = args.positional;
  if (!input || extra !== undefined) throw usageError("replay");
  if (args.options.bundle && args.options.manifest) throw new AktsError("AKTS9001", "pass --bundle or --manifest, not both");
  const override = args.options.bundle ?? args.options.manifest;
  const storeSpec = args.options.store ?? (process.env.AKTS_STORE || undefined);
  const sources = journalSources(input, storeSpec, override);
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

/** `akts journal <session> [--store dir|url | --manifest m] [--json]`: a session's journal, one row per record. */
import type { JournalRecord } from "../../runtime/journal";
import { errorLine, jsonSafe } from "../../runtime/store/json-safe";
import { STORE_OPTION, withStore } from "../store";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { summarize, table } from "../table";

const HEADERS = ["#", "TYPE", "SEQ", "SITE / CALLEE", "OK", "VALUE", "AT", "TOOK"];

/** Milliseconds since the session was created, as `+1.234s`. */
function since(start: number, at: number): string {
  return `+${((at - start) / 1000).toFixed(3)}s`;
}

function row(r: JournalRecord, i: number, start: number): string[] {
  const value = (v: unknown) => summarize(jsonSafe(v));
  const ok = (b: boolean) => (b ? "ok" : "error");
  switch (r.t) {
    case "header":
      return [String(i), "header", "", `${r.project}/${r.trigger} ${r.handler}`, r.mode, value(r.event), new Date(r.createdAt).toISOString(), ""];
    case "attempt":
      return [String(i), "attempt", "", `attempt ${r.attempt}`, "", "", since(start, r.at), ""];
    case "activity":
      return [String(i), "activity", String(r.seq), `${r.callee} at ${r.site}`, ok(r.ok), r.ok ? value(r.value) : summarize(errorLine(r.error)), since(start, r.start), `${r.end - r.start} ms`];
    case "timer":
      return [String(i), "timer", String(r.seq), r.site, "", `until ${new Date(r.deadline).toISOString()}`, "", ""];
    case "event":
      return [String(i), "event", String(r.seq), r.name, r.timedOut ? "timed out" : "ok", value(r.value), since(start, r.at), ""];
    case "outcome":
      return [String(i), "outcome", String(r.seq), `${r.fn}()`, "", value(r.value), since(start, r.at), ""];
    case "retry":
      return [String(i), "retry", String(r.seq), `attempt ${r.attempt} failed; next at ${new Date(r.next).toISOString()}`, "error", summarize(errorLine(r.error)), since(start, r.at), ""];
    case "cancel":
      return [String(i), "cancel", String(r.seq), "cancelled", "", "", since(start, r.at), ""];
    case "end":
      return [String(i), "end", "", r.cancelled ? "cancelled" : "", ok(r.ok), r.ok ? value(r.result) : summarize(errorLine(r.error)), since(start, r.at), ""];
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("journal", argv, { options: { ...STORE_OPTION, manifest: ["--manifest", "-m"] }, flags: { json: ["--json"] } });
  const [id, extra] = args.positional;
  if (!id || extra !== undefined) throw usageError("journal");
  const { records, notices } = await withStore({ store: args.options.store, manifest: args.options.manifest, mustExist: true }, (store) => store.read(id));
  for (const notice of notices) process.stderr.write(`akts journal: ${notice}\n`);
  if (args.flags.json) {
    process.stdout.write(JSON.stringify(jsonSafe(records), null, 2) + "\n");
    return 0;
  }
  const start = records[0]?.t === "header" ? records[0].createdAt : 0;
  process.stdout.write(table(HEADERS, records.map((r, i) => row(r, i + 1, start))));
  return 0;
}

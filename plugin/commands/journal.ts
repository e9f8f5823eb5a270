/** `akts journal <session> [--store dir] [--manifest m] [--json]`: the session's journal, record by record. */
import { AktsError } from "../../errors";
import type { JournalRecord } from "../../runtime/journal";
import { parseArgs } from "../args";
import { summarize, table } from "../table";
import { openStore, STORE_OPTION } from "./run";

function row(r: JournalRecord, i: number): string[] {
  switch (r.t) {
    case "header":
      return [String(i), "header", "", `${r.project}/${r.trigger} ${r.handler}`, r.mode, summarize(r.event), ""];
    case "attempt":
      return [String(i), "attempt", "", "", String(r.attempt), "", ""];
    case "activity":
      return [String(i), "activity", String(r.seq), `${r.callee} at ${r.site}`, r.ok ? "ok" : "error", summarize(r.ok ? r.value : r.error), `${r.end - r.start} ms`];
    case "timer":
      return [String(i), "timer", String(r.seq), r.site, "", new Date(r.deadline).toISOString(), ""];
    case "event":
      return [String(i), "event", String(r.seq), r.name, r.timedOut ? "timed out" : "ok", summarize(r.value), ""];
    case "end":
      return [String(i), "end", "", "", r.ok ? "ok" : "error", summarize(r.ok ? r.result : r.error), ""];
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("journal", argv, { options: { manifest: ["--manifest", "-m"], ...STORE_OPTION }, flags: { json: ["--json"] } });
  const [id] = args.positional;
  if (!id) throw new AktsError("AKTS9001", "usage: akts journal <session> [--store dir] [--json]");
  const store = openStore(args.options.store, args.options.manifest);
  const { records, notice } = await store.read(id);
  if (notice) process.stderr.write(`akts: ${notice}\n`);
  if (args.flags.json) {
    process.stdout.write(JSON.stringify(records, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n");
    return 0;
  }
  process.stdout.write(table(["#", "RECORD", "SEQ", "WHAT", "OUTCOME", "VALUE", "TOOK"], records.map(row)));
  return 0;
}

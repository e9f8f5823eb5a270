/** `akts sessions [--store dir] [--manifest m] [--status s] [--json]`. */
import { parseArgs } from "../args";
import { table } from "../table";
import { openStore, STORE_OPTION } from "./run";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("sessions", argv, { options: { manifest: ["--manifest", "-m"], status: ["--status"], ...STORE_OPTION }, flags: { json: ["--json"] } });
  const store = openStore(args.options.store, args.options.manifest);
  const sessions = (await store.list()).filter((s) => !args.options.status || s.status === args.options.status);
  if (args.flags.json) {
    process.stdout.write(JSON.stringify(sessions, null, 2) + "\n");
    return 0;
  }
  process.stdout.write(
    table(
      ["SESSION", "TRIGGER", "MODE", "STATUS", "ATTEMPTS", "UPDATED", "ERROR"],
      sessions.map((s) => [s.id, `${s.project}/${s.trigger}`, s.mode, s.status, String(s.attempts), new Date(s.updatedAt).toISOString(), s.error ?? ""]),
    ),
  );
  return 0;
}

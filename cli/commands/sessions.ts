/** `akts sessions [--store dir|url | --manifest m] [--status s] [--limit n] [--json]`: the store's sessions, newest first. */
import { AktsError } from "../../errors";
import { STATUSES, sessionJson, type SessionStatus } from "../../runtime/store";
import { parseArgs } from "../args";
import { STORE_OPTION, withStore } from "../store";
import { table } from "../table";

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new AktsError("AKTS9001", `--limit must be a whole number of at least 1, not '${text}'`);
  return Number(text);
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("sessions", argv, {
    options: { ...STORE_OPTION, manifest: ["--manifest", "-m"], status: ["--status"], limit: ["--limit", "-n"] },
    flags: { json: ["--json"] },
  });
  if (args.positional.length > 0) throw new AktsError("AKTS9001", `unexpected argument '${args.positional[0]}'`);
  const status = args.options.status as SessionStatus | undefined;
  if (status !== undefined && !STATUSES.includes(status)) {
    throw new AktsError("AKTS9001", `unknown --status '${status}' (use ${STATUSES.join(", ")})`);
  }
  const limit = parseLimit(args.options.limit);
  const sessions = await withStore({ store: args.options.store, manifest: args.options.manifest, mustExist: true }, (store) => store.list({ status, limit }));
  if (args.flags.json) {
    process.stdout.write(JSON.stringify(sessions.map(sessionJson), null, 2) + "\n");
    return 0;
  }
  process.stdout.write(
    table(
      ["SESSION", "TRIGGER", "MODE", "STATUS", "ATTEMPTS", "CREATED", "UPDATED", "PARENT", "ERROR"],
      sessions.map((s) => [
        s.id,
        `${s.project}/${s.trigger}`,
        s.mode,
        s.status,
        String(s.attempts),
        new Date(s.createdAt).toISOString(),
        new Date(s.updatedAt).toISOString(),
        s.parent ?? "",
        s.error ? (s.errorCode ? `${s.errorCode} ${s.error}` : s.error) : "",
      ]),
    ),
  );
  return 0;
}

/**
 * `akts event <session> <name> [--data json] [--store dir|url] [--manifest m]`: delivers an event for `nextEvent`.
 * As over HTTP, an unknown session is AKTS7003 and a finished one AKTS7006: it takes no more events.
 */
import { AktsError } from "../../errors";
import { UNFINISHED, type Store } from "../../runtime/store";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { STORE_OPTION, withStore } from "../store";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("event", argv, { options: { data: ["--data", "-d"], manifest: ["--manifest", "-m"], ...STORE_OPTION } });
  const [id, name] = args.positional;
  if (!id || !name) throw usageError("event");
  let value: unknown = null;
  if (args.options.data !== undefined) {
    try {
      value = JSON.parse(args.options.data);
    } catch (err) {
      throw new AktsError("AKTS9001", `--data is not valid JSON: ${(err as Error).message}`);
    }
  }
  const eventId = await withStore({ store: args.options.store, manifest: args.options.manifest, mustExist: true }, (store) => deliver(store, id, name, value));
  process.stdout.write(JSON.stringify({ session_id: id, event_id: eventId }) + "\n");
  return 0;
}

async function deliver(store: Store, id: string, name: string, value: unknown): Promise<string> {
  const summary = await store.get(id);
  if (!summary) throw new AktsError("AKTS7003", `no session ${id} in ${store.location}`);
  if (!UNFINISHED.includes(summary.status)) throw new AktsError("AKTS7006", `session ${id} is ${summary.status}: it takes no more events`);
  return store.deliver(id, name, value);
}

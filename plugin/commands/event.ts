/** `akts event <session> <name> [--data json] [--store dir|url] [--manifest m]`: delivers an event for `nextEvent`. */
import { AktsError } from "../../errors";
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
  const eventId = await withStore({ store: args.options.store, manifest: args.options.manifest }, (store) => store.deliver(id, name, value));
  process.stdout.write(JSON.stringify({ session_id: id, event_id: eventId }) + "\n");
  return 0;
}

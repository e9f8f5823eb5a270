/** `akts event <session> <name> [--data json] [--store dir] [--manifest m]`: delivers an event for `nextEvent`. */
import { AktsError } from "../../errors";
import { parseArgs } from "../args";
import { openStore, STORE_OPTION } from "./run";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("event", argv, { options: { data: ["--data", "-d"], manifest: ["--manifest", "-m"], ...STORE_OPTION } });
  const [id, name] = args.positional;
  if (!id || !name) throw new AktsError("AKTS9001", "usage: akts event <session> <name> [--data json] [--store dir]");
  let value: unknown = null;
  if (args.options.data !== undefined) {
    try {
      value = JSON.parse(args.options.data);
    } catch (err) {
      throw new AktsError("AKTS9001", `--data is not valid JSON: ${(err as Error).message}`);
    }
  }
  const store = openStore(args.options.store, args.options.manifest);
  const eventId = await store.deliver(id, name, value);
  process.stdout.write(JSON.stringify({ session_id: id, event_id: eventId }) + "\n");
  return 0;
}

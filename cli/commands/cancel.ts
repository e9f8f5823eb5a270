/**
 * `akts cancel <session> [--store dir|url] [--manifest m]`: asks the session to stop at its next boundary. The
 * runner that runs it (`akts serve`, `akts worker`, any process sharing the store) sees the request within a
 * fraction of a second; the session then ends `cancelled`. An unknown session is AKTS7003, a finished one AKTS6034.
 */
import { AktsError } from "../../errors";
import { cancelSession } from "../../runtime/cancel-watch";
import { parseArgs } from "../args";
import { usageError } from "../usage";
import { STORE_OPTION, withStore } from "../store";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("cancel", argv, { options: { manifest: ["--manifest", "-m"], ...STORE_OPTION } });
  const [id, extra] = args.positional;
  if (!id || extra !== undefined) throw usageError("cancel");
  const cancelled = await withStore({ store: args.options.store, manifest: args.options.manifest, mustExist: true }, async (store) => {
    const done = await cancelSession(store, id);
    if (!done) throw new AktsError("AKTS7003", `no session ${id} in ${store.location}`);
    return done;
  });
  process.stdout.write(JSON.stringify({ session_id: id, status: cancelled.status, cancel: "requested" }) + "\n");
  return 0;
}

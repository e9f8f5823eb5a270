import { Client } from "semantics-api";
export async function run() {
  let evaluated = 0;
  const maybe: Client | undefined = undefined as Client | undefined;
  const out = maybe?.echo((evaluated++, 1));
  return { out: out === undefined, evaluated };
}

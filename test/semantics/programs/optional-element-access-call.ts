import { Client } from "semantics-api";
export async function run() {
  const c: Client | undefined = new Client("opt-elem");
  const none: Client | undefined = undefined as Client | undefined;
  return [c?.["getName"](), none?.["getName"]()];
}

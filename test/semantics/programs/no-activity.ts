import { noActivity } from "akts";
import { Client } from "semantics-api";
const make = noActivity((name: string) => new Client(name));
export async function run() {
  const c = make("made");
  return c.getName();
}

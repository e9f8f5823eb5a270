import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  return c.fetchValue(1).then((v) => c.fetchValue(v)).then((v) => v + 1);
}

import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  return c.echo(await c.fetchValue(2), c.syncValue());
}

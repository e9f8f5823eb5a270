import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const none = (await c.echoAsync<string[]>())[5]?.toString();
  return { length: (await c.echoAsync("a", "b"))?.length, none: none === undefined };
}

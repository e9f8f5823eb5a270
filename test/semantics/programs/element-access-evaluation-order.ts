import { Client } from "semantics-api";
export async function run() {
  const log: string[] = [];
  const note = <T>(s: string, v: T) => (log.push(s), v);
  const c = new Client("k");
  const out = note("receiver", c)["echo"](note("arg1", 1), note("arg2", 2));
  return { log, out };
}

import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const log: string[] = [];
  try {
    await c.throwAsync();
  } catch {
    log.push("caught");
  } finally {
    log.push(String(await c.fetchValue(9)));
  }
  return log;
}

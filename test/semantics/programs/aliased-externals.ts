import { promisify } from "node:util";
import { kv, legacyAdd, messenger } from "semantics-api";
// Functions made from external ones at module level (promisify(execFile), redis.get.bind(redis), a destructured
// client method): their calls are the package's I/O, so a replay answers them from the journal.
const add = promisify(legacyAdd);
const get = kv.get.bind(kv);
const { send } = messenger;
export async function run() {
  const sum = await add(1, 2);
  const value = await get("k");
  const sent = await send(`${sum} ${value}`);
  return { sum, value, sent };
}

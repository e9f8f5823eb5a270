import { activity } from "akts";
import { Client } from "semantics-api";
const c = new Client();
const combined = activity(async (n: number) => {
  const a = await c.fetchValue(n);
  const b = c.syncValue();
  return a + b;
});
export async function run() {
  return [await combined(1), await combined(2)];
}

import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const slow = c.delayed("slow", 20);
  const fast = await c.fetchValue(1);
  return [fast, await slow];
}

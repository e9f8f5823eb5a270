import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  return await Promise.all([c.fetchValue(1), c.fetchValue(2), c.delayed("late", 5)]);
}

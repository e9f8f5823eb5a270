import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  return await Promise.race([c.delayed("slow", 40), c.delayed("fast", 1)]);
}

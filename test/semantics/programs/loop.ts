import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const out: number[] = [];
  for (let i = 0; i < 5; i++) out.push(await c.fetchValue(i));
  return out;
}

import { Client } from "semantics-api";
async function* values(c: Client) {
  for (let i = 1; i <= 3; i++) yield await c.fetchValue(i);
}
export async function run() {
  const out: number[] = [];
  for await (const v of values(new Client())) out.push(v);
  return out;
}

import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const order: number[] = [];
  const values = await Promise.all([30, 1, 15].map(async (ms) => {
    const v = await c.delayed(ms, ms);
    order.push(v);
    return v;
  }));
  return { values, order };
}

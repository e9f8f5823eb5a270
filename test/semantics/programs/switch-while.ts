import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const out: unknown[] = [];
  let i = 0;
  while (i < 4) {
    i++;
    switch (i % 2) {
      case 0:
        out.push(await c.fetchValue(i));
        continue;
      default:
        out.push(c.sum(i, i));
    }
  }
  return out;
}

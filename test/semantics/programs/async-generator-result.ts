import { generate } from "semantics-api";
// An async generator from an external call, read with next() and then iterated, with an early break.
export async function run() {
  const g = generate(5);
  const first = await g.next();
  const rest: number[] = [];
  for await (const n of g) {
    if (n > 300) break;
    rest.push(n);
  }
  return { first, rest };
}

import { list } from "semantics-api";
// Stripe's list object is thenable and async-iterable at once: awaited it is the first page, iterated every item.
export async function run() {
  const firstPage = await list(["a", "b", "c"]);
  const all: string[] = [];
  for await (const item of list(["a", "b", "c", "d", "e"])) all.push(item);
  return { firstPage, all };
}

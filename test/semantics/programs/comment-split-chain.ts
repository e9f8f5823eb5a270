import { Client } from "semantics-api";
// A chain split over lines by comments is one site; its label in the journal holds no comment.
export async function run() {
  const c = new Client("chain");
  const built = c // the builder
    .builder() /* two items */
    .add(1)
    .add(2)
    .build();
  const name = await c /* named */ .fetchValue(4);
  return { built, name };
}

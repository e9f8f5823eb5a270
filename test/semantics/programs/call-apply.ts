import { Client } from "semantics-api";
export async function run() {
  const c = new Client("applied");
  return [c.getName.call(c), c.sum.apply(c, [1, 2, 3]), Reflect.apply(c.sum, c, [4, 5])];
}

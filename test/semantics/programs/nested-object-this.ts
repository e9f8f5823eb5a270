import { nested } from "semantics-api";
export async function run() {
  return nested.deep.fn("n");
}

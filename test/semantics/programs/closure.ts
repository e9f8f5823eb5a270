import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const later = (n: number) => () => c.fetchValue(n);
  const fns = [later(3), later(4)];
  return [await fns[1](), await fns[0]()];
}

import { Client } from "semantics-api";
export async function run() {
  const c = new Client("paren");
  return [(c.getName)(), (c.getName as () => string)(), c.getName!()];
}

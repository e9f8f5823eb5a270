import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  let n = 0;
  const built = c.builder().add(++n).add(++n).build();
  return { built, n };
}

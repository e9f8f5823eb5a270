import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  return c.builder().add(1).add(2).build();
}

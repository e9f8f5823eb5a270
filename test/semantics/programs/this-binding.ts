import { Client } from "semantics-api";
export async function run() {
  const c = new Client("alice");
  return c.getName();
}

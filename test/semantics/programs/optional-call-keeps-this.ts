import { Client } from "semantics-api";
export async function run() {
  const c = new Client("bob");
  return c.getName?.();
}

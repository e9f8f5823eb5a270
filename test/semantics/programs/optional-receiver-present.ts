import { Client } from "semantics-api";
export async function run() {
  const c: Client | null = new Client("carol");
  return c?.getName();
}

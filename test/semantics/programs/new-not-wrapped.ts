import { Client } from "semantics-api";
export async function run() {
  const c = new Client("fresh");
  return { isClient: c instanceof Client, name: c.name };
}

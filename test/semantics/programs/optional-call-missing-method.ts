import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  return { missing: c.missing?.() === undefined };
}

import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  return await c.rest.issues.create({ title: "bug" });
}

import { Client } from "semantics-api";
export async function run() {
  const holder: { inner?: Client } = {};
  const missing = holder.inner?.rest.issues.create({ title: "x" });
  holder.inner = new Client();
  const present = await holder.inner?.rest.issues.create({ title: "y" });
  return { missing: missing === undefined, present };
}

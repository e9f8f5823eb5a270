import { Client } from "semantics-api";
export async function run() {
  const c = new Client("elem");
  const m = "getName" as const;
  return [c["getName"](), c[m]()];
}

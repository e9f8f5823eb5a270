import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const v = c.syncValue();
  return { type: typeof v, isPromise: (v as unknown) instanceof Promise, v };
}

import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  try {
    c.missing!();
    return "called";
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
}

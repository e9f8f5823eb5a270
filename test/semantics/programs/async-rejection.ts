import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  try {
    await c.throwAsync();
    return "no error";
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message, status: (e as { status: number }).status };
  }
}

import { Client, ApiError } from "semantics-api";
export async function run() {
  const c = new Client();
  try {
    c.throwSync();
    return "no error";
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message, status: (e as ApiError).status, isError: e instanceof Error };
  }
}

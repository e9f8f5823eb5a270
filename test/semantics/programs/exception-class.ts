import { Client, ApiError } from "semantics-api";
async function outcome(f: () => unknown) {
  try {
    await f();
    return "no error";
  } catch (e) {
    return { apiError: e instanceof ApiError, error: e instanceof Error, name: (e as Error).name, message: (e as Error).message };
  }
}
export async function run() {
  const c = new Client();
  return [await outcome(() => c.throwSync()), await outcome(() => c.throwAsync())];
}

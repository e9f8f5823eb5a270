import { Client } from "semantics-api";
async function make(name: string) {
  return new Client(name);
}
export async function run() {
  const c = new Client();
  return [(await make("late")).getName(), (await c.echoAsync("a", "b")).length];
}

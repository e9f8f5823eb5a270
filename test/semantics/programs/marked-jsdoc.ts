import { Client } from "semantics-api";
const c = new Client();
/** @activity */
async function load(n: number) {
  return (await c.fetchValue(n)) + c.sum(1, 2);
}
export async function run() {
  return load(5);
}

import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const nums = [1, 2, 3];
  return [c.sum(...nums), c.sum(0, ...nums, 4), c.echo(...[..."ab"])];
}

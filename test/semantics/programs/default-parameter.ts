import { Client } from "semantics-api";
const c = new Client();
function withDefault(x: number = c.syncValue()) {
  return x * 2;
}
export async function run() {
  return [withDefault(), withDefault(1)];
}

import { upper } from "semantics-api";
export default async function handler(s: string) {
  return upper(s);
}
export async function run() {
  return handler("default export");
}

import { Client } from "semantics-api";
function* names(name: string) {
  const c = new Client(name);
  for (let i = 0; i < 3; i++) yield `${c.getName()}${i}`;
}
export async function run() {
  return [...names("gen")];
}

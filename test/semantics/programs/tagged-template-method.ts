import { Client } from "semantics-api";
export async function run() {
  const c = new Client("tagger");
  const again = () => c.label`d${3}`;
  return [c.label`a${1}b${2}c`, again(), again()];
}

import { echo } from "semantics-api";
const atImport = echo("import");
export async function run() {
  return atImport;
}

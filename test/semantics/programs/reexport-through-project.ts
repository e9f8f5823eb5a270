import { reexportedEcho } from "../lib/helpers.js";
export async function run() {
  return reexportedEcho("via project");
}

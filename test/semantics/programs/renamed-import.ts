import { echo as say } from "semantics-api";
export async function run() {
  return say("renamed");
}

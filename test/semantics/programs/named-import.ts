import { echo } from "semantics-api";
export async function run() {
  return echo(42);
}

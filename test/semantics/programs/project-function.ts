import { shout, twice } from "../lib/helpers.js";
export async function run() {
  return [await shout("hey"), twice("x")];
}

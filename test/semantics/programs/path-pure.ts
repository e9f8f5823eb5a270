import * as path from "node:path";
export async function run() {
  return [path.join("a", "b", "..", "c"), path.extname("x.ts"), path.basename("/p/q.js", ".js")];
}

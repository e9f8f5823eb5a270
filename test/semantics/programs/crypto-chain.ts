import { createHash } from "node:crypto";
export async function run() {
  return createHash("sha256").update("akts").digest("hex");
}

import { Client } from "semantics-api";
class Named extends Client {
  constructor() {
    super("from-super");
  }
}
export async function run() {
  return new Named().name;
}

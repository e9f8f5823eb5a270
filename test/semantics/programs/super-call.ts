import { Client } from "semantics-api";
class Named extends Client {
  describe(): string {
    return `${super.getName()}/${this.getName()}`;
  }
}
export async function run() {
  return new Named("sub").describe();
}

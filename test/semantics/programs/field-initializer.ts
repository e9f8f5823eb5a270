import { Client } from "semantics-api";
const c = new Client();
class Holder {
  value = c.syncValue();
  static make() {
    return new Holder();
  }
}
export async function run() {
  return [Holder.make().value, new Holder().value];
}

import { Client } from "semantics-api";
class Box {
  constructor(private readonly c: Client) {}
  get value(): number {
    return this.c.syncValue() + 1;
  }
}
export async function run() {
  const b = new Box(new Client());
  return [b.value, b.value];
}

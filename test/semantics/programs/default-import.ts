import greet from "semantics-api";
export async function run() {
  return greet("world");
}

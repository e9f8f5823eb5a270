import { Client } from "semantics-api";
// Awaiting a Promise-typed property of a package object (Linear's `await issue.assignee`): its getter does I/O,
// so the read is an activity, and a replay gets the recorded value.
export async function run() {
  const c = new Client("linear");
  const value = await c.lazyValue;
  const again = (await (c.lazyValue)).toUpperCase();
  return { value, again };
}

// Project code shared by programs: calls into it are not activities; its own external calls are.
import { echo, upper } from "semantics-api";

export { echo as reexportedEcho } from "semantics-api";

export function shout(s: string): Promise<string> {
  return upper(`${s}!`);
}

export function twice(x: string): string[] {
  return [echo(x), echo(x)];
}

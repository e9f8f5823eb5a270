/**
 * The project's stored values (docs/values.md), AutoKitteh's `get_value`, `set_value`, `mutate_value`, ...: each
 * call is one atomic operation in the store, journaled in a durable session (akts-call.ts).
 */
import { aktsCall } from "./akts-call";
import { checkValueKey, valueOp, type ValueOp } from "./store/values";

export type ValueOperation = ValueOp["op"];

function apply(fn: string, key: string, op: () => ValueOp): Promise<unknown> {
  return aktsCall(fn, async (env, token) => {
    checkValueKey(key);
    return env.store.mutateValue(env.project, key, op(), token);
  });
}

/** The stored value of `key`, undefined when there is none. */
export function getValue<T = unknown>(key: string): Promise<T | undefined> {
  return apply("getValue", key, () => ({ op: "get" })) as Promise<T | undefined>;
}

/** Stores `value` under `key`; null or undefined deletes it. At most 64 KiB encoded (AKTS6024). */
export async function setValue(key: string, value: unknown): Promise<void> {
  await apply("setValue", key, () => ({ op: "set", value }));
}

export async function delValue(key: string): Promise<void> {
  await apply("delValue", key, () => ({ op: "del" }));
}

/** Adds `amount` to the number under `key` (absent counts as 0) and returns the sum. */
export function addValues(key: string, amount: number): Promise<number> {
  return apply("addValues", key, () => valueOp("add", [amount])) as Promise<number>;
}

/** Sets `key` to `value` if it holds `expected` (absent equals null); returns whether it did. */
export function checkAndSetValue(key: string, expected: unknown, value: unknown): Promise<boolean> {
  return apply("checkAndSetValue", key, () => ({ op: "check_and_set", expected, value })) as Promise<boolean>;
}

/** One entry point for the operations: `get`, `set`, `del`, `add`, `check_and_set`, with their arguments. */
export function mutateValue(key: string, op: ValueOperation, ...args: unknown[]): Promise<unknown> {
  return apply("mutateValue", key, () => valueOp(op, args));
}

/** The project's keys, sorted. */
export function listValuesKeys(): Promise<string[]> {
  return aktsCall("listValuesKeys", async (env) => (await env.store.listValues(env.project)).map((v) => v.key));
}

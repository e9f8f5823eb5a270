/**
 * A project's stored values (docs/values.md): what each operation does to one value, shared by both stores, which
 * only make each operation atomic and idempotent (a mutation carries a token; a token seen before returns its
 * recorded result instead of applying again).
 */
import { isDeepStrictEqual } from "node:util";
import { AktsError } from "../../errors";
import { encode } from "../codec";

/** AutoKitteh's `mutate_value` operations. */
export type ValueOp =
  | { readonly op: "get" }
  | { readonly op: "set"; readonly value: unknown }
  | { readonly op: "del" }
  | { readonly op: "add"; readonly amount: number }
  | { readonly op: "check_and_set"; readonly expected: unknown; readonly value: unknown };

export const VALUE_OPS: readonly ValueOp["op"][] = ["get", "set", "del", "add", "check_and_set"];

export interface StoredValue {
  readonly key: string;
  readonly value: unknown;
}

/** The stored-value part of a Store. */
export interface ValueStore {
  /** Applies `op` to the project's `key` atomically; a `token` already applied returns that application's result. */
  mutateValue(project: string, key: string, op: ValueOp, token?: string): Promise<unknown>;
  /** The project's values, sorted by key. */
  listValues(project: string): Promise<StoredValue[]>;
}

/** As in AutoKitteh, a value is size-limited: its encoding may take this many bytes. */
export const MAX_VALUE_BYTES = 64 * 1024;
const MAX_KEY_LENGTH = 256;

/** The outcome of one operation on the current value (undefined: absent): the value after it, and what it returns. */
export function applyValueOp(current: unknown, op: ValueOp): { next: unknown; result: unknown } {
  switch (op.op) {
    case "get":
      return { next: current, result: current };
    case "set":
      return { next: sized(op.value), result: undefined };
    case "del":
      return { next: undefined, result: undefined };
    case "add": {
      const base = current ?? 0;
      if (typeof base !== "number") throw new AktsError("AKTS6023", `add: the stored value is a ${typeof base}, not a number`);
      const next = base + op.amount;
      return { next, result: next };
    }
    case "check_and_set": {
      const matches = isDeepStrictEqual(current ?? null, op.expected ?? null);
      return matches ? { next: sized(op.value), result: true } : { next: current, result: false };
    }
  }
}

/** `null` deletes, as `None` does in AutoKitteh. */
function sized(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  const bytes = encode(value).length;
  if (bytes > MAX_VALUE_BYTES) throw new AktsError("AKTS6024", `the value takes ${bytes} bytes; a stored value may take ${MAX_VALUE_BYTES}`);
  return value;
}

export function checkValueKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new AktsError("AKTS6023", `a value's key is a string of 1 to ${MAX_KEY_LENGTH} characters, not ${JSON.stringify(key)}`);
  }
}

/** `mutateValue(key, op, ...args)` as AutoKitteh takes it, checked. */
export function valueOp(op: unknown, args: readonly unknown[]): ValueOp {
  const want = (n: number) => {
    if (args.length !== n) throw new AktsError("AKTS6023", `${String(op)} takes ${n} argument${n === 1 ? "" : "s"} after the key, not ${args.length}`);
  };
  switch (op) {
    case "get":
    case "del":
      want(0);
      return { op };
    case "set":
      want(1);
      return { op, value: args[0] };
    case "add":
      want(1);
      if (typeof args[0] !== "number" || !Number.isFinite(args[0])) throw new AktsError("AKTS6023", `add takes a finite number, not ${JSON.stringify(args[0])}`);
      return { op, amount: args[0] };
    case "check_and_set":
      want(2);
      return { op, expected: args[0], value: args[1] };
    default:
      throw new AktsError("AKTS6023", `unknown value operation ${JSON.stringify(op)} (use ${VALUE_OPS.join(", ")})`);
  }
}

/** A mutation's token is remembered this long, so a session resumed within it never applies a mutation twice. */
export const TOKEN_RETENTION_MS = 30 * 24 * 3600_000;

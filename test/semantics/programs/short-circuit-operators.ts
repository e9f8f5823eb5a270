import { Client } from "semantics-api";
export async function run() {
  const c = new Client();
  const before = 0;
  const none: number | null = null as number | null;
  const results = [false && c.syncValue(), none ?? c.syncValue(), 1 || c.syncValue(), true ? c.sum(1) : c.sum(2)];
  const { missing = c.syncValue() } = {} as { missing?: number };
  return { results, missing, before };
}

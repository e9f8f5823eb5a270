export async function run() {
  const now = Date.now();
  const r = Math.random();
  const d = new Date();
  const fixed = new Date(0);
  const id = crypto.randomUUID();
  return { now: typeof now, r: r >= 0 && r < 1, d: d instanceof Date, fixed: fixed.toISOString(), id: /^[0-9a-f-]{36}$/.test(id), t: typeof performance.now() };
}

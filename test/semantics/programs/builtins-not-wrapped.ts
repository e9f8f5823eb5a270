export async function run() {
  return { json: JSON.stringify({ a: [1, 2] }), max: Math.max(3, 9), keys: Object.keys({ x: 1, y: 2 }), sorted: [3, 1, 2].sort() };
}

import { tag } from "semantics-api";
export async function run() {
  const results = [];
  for (let i = 0; i < 2; i++) results.push(tag`a${i}b${i * 2}c`);
  const other = tag`x${"y"}z`;
  return { loop: results, other };
}

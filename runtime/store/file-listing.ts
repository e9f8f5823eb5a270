/** Paging of the file store's sorted session ids (its index keeps them sorted: segment-index.ts). */

/** The index of the first id not below `before` in ascending `ids` (ids.length when all are below). */
export function firstNotBelow(ids: readonly string[], before: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] < before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

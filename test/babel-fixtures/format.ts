// Project code: formatting, no I/O.
export function formatRow(id: number, digest: string): string {
  return `${id}\t${digest.slice(0, 8)}\t${new Date(0).toISOString()}`;
}

/** Plain-text tables for the CLI. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
}

/** A short one-line rendering of a value for a table cell. */
export function summarize(value: unknown, max = 60): string {
  if (value instanceof Response) return `Response ${value.status} ${value.headers.get("content-type") ?? ""}`.trimEnd();
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : value === undefined ? "undefined" : (JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The callee label of a site (docs/stub-contract.md): the callee as written, its layout compacted, so it holds no
 * line break; for a merged chain its innermost callee and then each link (`createHash().update().digest`).
 */

/** Source text without layout whitespace: `slack . chat\n.postMessage` → `slack.chat.postMessage`, `new  X` → `new X`. */
export function compactText(text: string): string {
  // Most callees are written without layout: then there is nothing to take out.
  if (!/\s/.test(text)) return text;
  return text.replace(/\s+/g, " ").replace(/ ?([^\w$ ]) ?/g, "$1");
}

/** The label of a call, a `new`, or a chain given its innermost callee's text and the names of the links after it. */
export function calleeLabel(kind: "call" | "new", calleeText: string, linkNames: readonly string[] = []): string {
  if (kind === "new") return `new ${compactText(calleeText)}`;
  return compactText(calleeText) + linkNames.map((n) => `().${n}`).join("");
}

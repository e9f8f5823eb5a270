/**
 * The callee label of a site (docs/stub-contract.md): the callee as written, its layout compacted, so it holds no
 * line break; for a merged chain its innermost callee and then each link (`createHash().update().digest`).
 */

/**
 * Source text without layout: whitespace and comments (`db // note\n.collection()` → `db.collection()`,
 * `new  X` → `new X`).
 */
export function compactText(text: string): string {
  // Most callees are written without layout: then there is nothing to take out.
  if (!/[\s/]/.test(text)) return text;
  return withoutComments(text).replace(/\s+/g, " ").replace(/ ?([^\w$ ]) ?/g, "$1");
}

/** `text` with each comment replaced by a space; strings and escaped characters (`\/` in a regex) are kept. */
function withoutComments(text: string): string {
  if (!text.includes("//") && !text.includes("/*")) return text;
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      out += text.slice(i, i + 2);
      i++;
    } else if (quote !== undefined) {
      if (c === quote) quote = undefined;
      out += c;
    } else if (c === '"' || c === "'" || c === "`") {
      quote = c;
      out += c;
    } else if (c === "/" && (text[i + 1] === "/" || text[i + 1] === "*")) {
      const end = text[i + 1] === "/" ? text.indexOf("\n", i) : text.indexOf("*/", i + 2) + 1;
      i = end <= 0 ? text.length : end;
      out += " ";
    } else {
      out += c;
    }
  }
  return out;
}

/** The label of a call, a `new`, or a chain given its innermost callee's text and the names of the links after it. */
export function calleeLabel(kind: "call" | "new", calleeText: string, linkNames: readonly string[] = []): string {
  if (kind === "new") return `new ${compactText(calleeText)}`;
  return compactText(calleeText) + linkNames.map((n) => `().${n}`).join("");
}

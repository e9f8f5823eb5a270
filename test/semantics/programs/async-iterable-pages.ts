import { pages } from "semantics-api";
// An async iterable from an external call (octokit.paginate.iterator): each page is a step of the journal.
export async function run() {
  const out: number[] = [];
  for await (const page of pages(3, 2)) out.push(...page);
  return out;
}

import { activity } from "akts";
import { list } from "semantics-api";
// A callback handed to an SDK (Stripe's autoPagingEach) collects inside an activity() that returns the data, the
// fix AKTS1008 names: a replay gets the collected items from the journal.
const collect = activity(async (items: string[]) => {
  const seen: string[] = [];
  await list(items).autoPagingEach((item) => {
    seen.push(item.toUpperCase());
  });
  return seen;
});
export async function run() {
  return collect(["a", "b", "c"]);
}

/** Row 4: what a rewritten call costs in a non-durable session, over calling the function directly. */
import { dist, interleaved } from "./lib.mjs";

const { table } = dist("runtime/stub.js");
const { SessionState } = dist("runtime/session-state.js");
const { storage } = dist("runtime/context.js");

const CALLS = 1_000_000;
const SITES = table("bench.ts", "3:5 external inc");
const inc = (x) => x + 1;

function direct() {
  let acc = 0;
  for (let i = 0; i < CALLS; i++) acc += inc(i);
  return acc;
}

/** The shape the compiler emits: the file's site table, site index, this, callee, argument array. */
function stubbed() {
  let acc = 0;
  for (let i = 0; i < CALLS; i++) acc += SITES.call(0, undefined, inc, [i]);
  return acc;
}

export async function run({ only, quick }) {
  if (!only("4")) return [];
  const session = new SessionState("ses_bench", 1, false, undefined, [], { take: async () => undefined, consumed: async () => {} });
  const r = await storage.run({ session, inActivity: false }, () => {
    for (let i = 0; i < 3; i++) direct(), stubbed();
    // Both loops did the calls: the timing is of work done, not of a loop the compiler dropped.
    if (stubbed() !== direct()) throw new Error("the stubbed calls returned another sum than the direct ones");
    return interleaved(quick ? 5 : 21, { direct, stubbed });
  });
  session.close();
  const overhead = ((r.stubbed.median - r.direct.median) * 1e6) / CALLS;
  return [{ row: "4", what: "non-durable session: 1,000,000 stubbed calls vs direct calls", unit: "ns/call overhead", subject: (r.stubbed.median * 1e6) / CALLS, baseline: (r.direct.median * 1e6) / CALLS, overhead, target: "≤ 50 ns", pass: overhead <= 50 }];
}

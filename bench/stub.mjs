/**
 * Row 4: what a rewritten call costs in a non-durable session, over calling the function directly: while no durable
 * session is open in the process (4), and while another one is (4b), as in a server running both kinds, where
 * every stubbed call looks up its session's context.
 */
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

const INBOX = { take: async () => undefined, consumed: async () => {} };

async function overhead(quick) {
  const session = new SessionState("ses_bench", 1, false, undefined, [], INBOX);
  const r = await storage.run({ session, inActivity: false }, () => {
    for (let i = 0; i < 3; i++) direct(), stubbed();
    // Both loops did the calls: the timing is of work done, not of a loop the compiler dropped.
    if (stubbed() !== direct()) throw new Error("the stubbed calls returned another sum than the direct ones");
    return interleaved(quick ? 5 : 21, { direct, stubbed });
  });
  session.close();
  const perCall = (ms) => (ms * 1e6) / CALLS;
  return {
    subject: perCall(r.stubbed.median),
    baseline: perCall(r.direct.median),
    overhead: perCall(r.stubbed.median - r.direct.median),
    cpuOverhead: perCall(r.stubbed.cpuMedian - r.direct.cpuMedian),
  };
}

export async function run({ only, quick }) {
  if (!only("4")) return [];
  const alone = await overhead(quick);
  // Open, outside this session's context, for the whole measurement.
  const other = new SessionState("ses_other", 1, true, undefined, [], INBOX);
  const beside = await overhead(quick);
  other.close();
  const what = "non-durable session: 1,000,000 stubbed calls vs direct calls";
  return [
    { row: "4", what, unit: "ns/call overhead", ...alone, target: "≤ 50 ns", pass: alone.overhead <= 50 },
    { row: "4b", what: `${what}, another durable session open`, unit: "ns/call overhead", ...beside, target: "≤ 50 ns", pass: beside.overhead <= 50 },
  ];
}

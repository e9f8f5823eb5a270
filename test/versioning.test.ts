/**
 * `akts diff` against what a replay really does (docs/versioning.md). Sessions of fixtures/versioning are recorded
 * once: one finished and three stopped (SIGKILL) while they wait for an event at three places (after the first
 * activity, inside the loop, after it). Each change below is applied to a copy of the project; then, for that
 * change, `akts diff <old> <new>` gives the verdict for the two versions alone, `akts diff --store` one per
 * unfinished session, and `akts resume` on the new code (on a copy of the store, the events delivered) says what
 * really happens. Each verdict is counted true or false; a wrong "safe" fails the suite, false alarms are printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, copyFixture, tempDir, type CliResult } from "./helpers";
import { aktsOnProgramHost } from "./program-host";
import { killAll, signalGroup, startCli } from "./cli-process";

const BASE_CALLS = `  let n = await validate(start);
  if (stop === 1) await nextEvent("go");
  n = await reserve(n);
`;
const AUDIT = `const audit = activity(async (n: number) => n);\n`;

/** Each change: the new flow.ts from the old. */
const CHANGES: Record<string, (src: string) => string> = {
  "reordered activities": (s) => s.replace(BASE_CALLS, `  let n = await reserve(start);\n  if (stop === 1) await nextEvent("go");\n  n = await validate(n);\n`),
  "an added activity": (s) => s.replace("  n = await reserve(n);\n", "  n = await reserve(n);\n  n = await audit(n);\n").replace("export async", `${AUDIT}\nexport async`),
  "a removed activity": (s) => s.replace("  n = await reserve(n);\n", ""),
  "a renamed callee": (s) => s.replaceAll("ship", "dispatch"),
  "a moved block": (s) => {
    const loop = s.slice(s.indexOf("  for ("), s.indexOf("  if (stop === 3)"));
    return s.replace(loop, "").replace("  n = await reserve(n);\n", `${loop}  n = await reserve(n);\n`);
  },
  "comments and formatting only": (s) =>
    s
      .replace("export async function flow(", "// The order flow.\n/* reformatted */\nexport   async function flow (")
      .replace("  let n = await validate(start);", "  // first\n  let n = await validate(\n    start,\n  );")
      .replace("i < 2", "i<2"),
  "a changed argument": (s) => s.replace("validate(start)", "validate(start + 10)").replace("ship(n)", "ship(n * 3)"),
  "a new branch guarded by patched": (s) =>
    s
      .replace('import { activity, nextEvent } from "akts";', 'import { activity, nextEvent, patched } from "akts";')
      .replace("  n = await reserve(n);\n", '  n = await reserve(n);\n  if (patched("audit")) n = await audit(n);\n')
      .replace("export async", `${AUDIT}\nexport async`),
  "a loop bound change": (s) => s.replace("i < 2", "i < 3"),
};

interface Verdicts {
  /** `akts diff <old> <new>`: exit 0 (every change safe). */
  staticSafe: boolean;
  /** `akts diff --store`: per session, replays. */
  store: Record<string, boolean>;
  /** `akts resume` on the new code: per session, completed (true) or diverged (false). */
  actual: Record<string, boolean>;
}

let dir: string;
let base: string;
let store: string;
const unfinished: Record<string, string> = {};
const results: Record<string, Verdicts> = {};

function run(args: string[]) {
  return noStack(akts(args));
}

/**
 * `akts diff` of each change, in this process on a shared compiler host: a process of its own would load
 * TypeScript and parse its libs for every version compiled. `run` keeps the CLI's own processes elsewhere.
 */
async function diff(args: string[]) {
  return noStack(await aktsOnProgramHost(["diff", ...args]));
}

function noStack(r: CliResult) {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}

/** A session of `base` stopped while it waits for "go" at `stop` (1, 2, 3): SIGKILLed there. */
async function stopped(stop: number): Promise<string> {
  const event = path.join(dir, `stop${stop}.json`);
  fs.writeFileSync(event, JSON.stringify({ n: 1, stop }));
  const p = startCli(["run", path.join(base, "autokitteh.yaml"), "--trigger", "order", "--event", event, "--store", store]);
  const m = await p.waitFor("stderr", /session (ses_\w+) waits for event 'go'/, 120_000);
  signalGroup(p.child, "SIGKILL");
  await p.exited;
  return m[1];
}

beforeAll(async () => {
  dir = tempDir("versioning");
  base = copyFixture("versioning", dir);
  store = path.join(dir, "store");
  const event = path.join(dir, "stop0.json");
  fs.writeFileSync(event, JSON.stringify({ n: 1, stop: 0 }));
  expect(run(["run", path.join(base, "autokitteh.yaml"), "--trigger", "order", "--event", event, "--store", store]).code).toBe(0);
  for (const stop of [1, 2, 3]) unfinished[`stop ${stop}`] = await stopped(stop);
  // Delivered once, before the store is copied: every resume below finds its event waiting.
  for (const id of Object.values(unfinished)) expect(run(["event", id, "go", "--data", "{}", "--store", store]).code).toBe(0);
}, 300_000);

afterAll(() => {
  killAll();
  const rows = Object.entries(results).map(([change, v]) => {
    const anyDiverges = Object.values(v.actual).some((ok) => !ok);
    const alarms = Object.entries(v.store).filter(([s, ok]) => !ok && v.actual[s]).map(([s]) => s);
    return `${change}: static ${v.staticSafe ? "safe" : "not safe"} (${v.staticSafe === !anyDiverges ? "true" : anyDiverges ? "WRONG SAFE" : "false alarm"}); sessions ${Object.entries(v.actual).map(([s, ok]) => `${s} ${ok ? "replays" : "diverges"}`).join(", ")}${alarms.length ? `; store false alarms: ${alarms.join(", ")}` : ""}`;
  });
  const all = Object.values(results);
  const diverges = (v: Verdicts) => Object.values(v.actual).some((ok) => !ok);
  const sessions = all.flatMap((v) => Object.keys(v.actual).map((s) => v.store[s] === v.actual[s]));
  const counts = [
    `two versions: ${all.filter((v) => v.staticSafe === !diverges(v)).length} true, ${all.filter((v) => !v.staticSafe && !diverges(v)).length} false alarms, ${all.filter((v) => v.staticSafe && diverges(v)).length} wrong safe`,
    `per session (--store): ${sessions.filter(Boolean).length} true, ${sessions.filter((ok) => !ok).length} false`,
  ];
  if (rows.length) process.stdout.write(`akts diff verdicts against resume:\n  ${rows.join("\n  ")}\n  ${counts.join("; ")}\n`);
});

describe.each(Object.keys(CHANGES))("%s", (change) => {
  test("akts diff's verdicts match what resuming on the new code does", async () => {
    const variant = path.join(dir, "variants", change.replaceAll(" ", "-"));
    fs.cpSync(base, variant, { recursive: true, filter: (src) => !src.includes(".akts") });
    const flow = path.join(variant, "flow.ts");
    const before = fs.readFileSync(flow, "utf8");
    const after = CHANGES[change](before);
    expect(after).not.toBe(before);
    fs.writeFileSync(flow, after);
    const manifest = path.join(variant, "autokitteh.yaml");

    const both = await diff([path.join(base, "autokitteh.yaml"), manifest, "--format", "json"]);
    const staticReport = JSON.parse(both.stdout);
    expect(both.code).toBe(staticReport.breaking ? 1 : 0);
    const withStore = await diff(["--store", store, manifest, "--format", "json"]);
    const storeReport = JSON.parse(withStore.stdout);
    expect(withStore.code).toBe(storeReport.breaking ? 1 : 0);

    const copy = path.join(dir, "stores", change.replaceAll(" ", "-"));
    fs.cpSync(store, copy, { recursive: true });
    const resumed = run(["resume", "--manifest", manifest, "--store", copy]);
    const outcomes = new Map(resumed.stdout.trim().split("\n").map((l) => JSON.parse(l)).map((l) => [l.session_id, l]));
    const verdicts: Verdicts = { staticSafe: !staticReport.breaking, store: {}, actual: {} };
    for (const [name, id] of Object.entries(unfinished)) {
      const outcome = outcomes.get(id);
      expect(outcome, resumed.stdout + resumed.stderr).toBeDefined();
      // Anything but a completion must be a divergence: the handler itself never fails.
      if (outcome.status !== "completed") expect(outcome.error.code).toBe("AKTS5001");
      verdicts.actual[name] = outcome.status === "completed";
      const said = storeReport.sessions.find((s: { session_id: string }) => s.session_id === id);
      verdicts.store[name] = said.verdict === "replays";
      if (said.verdict === "diverges") {
        expect(said.message).toMatch(/entry #\d+: journal has .*, code (called .* at flow\.ts:\d+:\d+|returned)/);
        expect(outcome.error.message.startsWith(said.message.replace(/^error AKTS5001: /, "").split(" (the code")[0])).toBe(true);
      }
    }
    results[change] = verdicts;
    const anyDiverges = Object.values(verdicts.actual).some((ok) => !ok);
    // No wrong "safe": not from the two versions alone, not for any session.
    if (verdicts.staticSafe) expect(anyDiverges, `${change}: diff said safe`).toBe(false);
    for (const name of Object.keys(unfinished)) if (verdicts.store[name]) expect(verdicts.actual[name], `${change}: ${name}`).toBe(true);
    expect(withStore.code).toBe(anyDiverges ? 1 : 0);
  }, 180_000);
});

describe("the verdict table", () => {
  test("every verdict is true but the false alarms of the two versions alone; the expected ones hold", () => {
    const table = Object.fromEntries(Object.entries(results).map(([c, v]) => [c, { staticSafe: v.staticSafe, diverges: Object.entries(v.actual).filter(([, ok]) => !ok).map(([s]) => s) }]));
    expect(table).toEqual({
      "reordered activities": { staticSafe: false, diverges: ["stop 1", "stop 2", "stop 3"] },
      "an added activity": { staticSafe: false, diverges: ["stop 2", "stop 3"] },
      "a removed activity": { staticSafe: false, diverges: ["stop 2", "stop 3"] },
      "a renamed callee": { staticSafe: false, diverges: ["stop 2", "stop 3"] },
      "a moved block": { staticSafe: false, diverges: ["stop 2", "stop 3"] },
      "comments and formatting only": { staticSafe: true, diverges: [] },
      "a changed argument": { staticSafe: true, diverges: [] },
      "a new branch guarded by patched": { staticSafe: true, diverges: [] },
      "a loop bound change": { staticSafe: false, diverges: [] },
    });
    const storeWrong = Object.values(results).flatMap((v) => Object.keys(v.actual).filter((s) => v.store[s] !== v.actual[s]));
    expect(storeWrong).toEqual([]);
  });
});

test("the journal records patched()'s decision where a session took the new branch, and nothing where it took the old", () => {
  const copy = path.join(dir, "stores", "a-new-branch-guarded-by-patched");
  const records = (id: string) => JSON.parse(run(["journal", id, "--store", copy, "--json"]).stdout) as { t: string; site?: string; callee?: string; value?: unknown }[];
  // Stopped before the guard: resumed on the new code, it takes the new branch and records it.
  expect(records(unfinished["stop 1"]).filter((r) => r.site === "<akts>:patched")).toMatchObject([{ t: "activity", callee: 'patched("audit")', value: true }]);
  expect(records(unfinished["stop 1"]).some((r) => r.callee === "audit")).toBe(true);
  // Past it when the code changed: the old branch, no decision recorded, no audit.
  for (const stop of ["stop 2", "stop 3"]) expect(records(unfinished[stop]).some((r) => r.site === "<akts>:patched" || r.callee === "audit")).toBe(false);
});

test("text and sarif carry the verdicts, the guard to apply and both locations", () => {
  const reordered = path.join(dir, "variants", "reordered-activities", "autokitteh.yaml");
  const text = run(["diff", path.join(base, "autokitteh.yaml"), reordered]);
  expect(text.code).toBe(1);
  expect(text.stdout).toMatch(/^ {2}breaking {4}flow: activity validate became activity reserve\n {14}old flow\.ts:\d+:\d+, new flow\.ts:\d+:\d+\n {14}guard it: if \(patched\("flow-[0-9a-f]{6}"\)\) \{ new code \} else \{ old code \}$/m);
  const sarif = JSON.parse(run(["diff", path.join(base, "autokitteh.yaml"), reordered, "--format", "sarif"]).stdout);
  expect(sarif.runs[0].results).toMatchObject([{ ruleId: "AKTS5010", level: "error", locations: [{ physicalLocation: { artifactLocation: { uri: "flow.ts" } } }] }]);
  const sessions = JSON.parse(run(["diff", "--store", store, reordered, "--format", "sarif"]).stdout);
  expect(sessions.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toEqual(["AKTS5012", "AKTS5012", "AKTS5012"]);
  expect(sessions.runs[0].results[0].message.text).toMatch(/entry #1: journal has validate at flow\.ts:\d+:\d+, code called reserve at flow\.ts:\d+:\d+/);
});

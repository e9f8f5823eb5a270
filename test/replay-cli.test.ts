/**
 * `akts replay`: sessions recorded with `akts run` replay against the current code with nothing run live,
 * nothing written and no sleep waited out; a changed call is pinpointed with both sites and the replay fingerprints.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, copyFixture, killWhen, lines, tempDir } from "./helpers";
import { segmentFiles, segmentsHold, sessionEntries } from "./segments";

/** Takes another call when FLIP is set: the same code diverging, for the "code unchanged" report. */
const FLIP = `import { appendFileSync, readFileSync } from "node:fs";

export async function flip({ data: event }: { data: { log: string } }) {
  if (process.env.FLIP) readFileSync(event.log, "utf8");
  else appendFileSync(event.log, "flip\\n");
  return "flipped";
}
`;

const FLIP_TRIGGER = `    - name: flip
      type: webhook
      call: flip.ts:flip
`;

/** The crash fixture with the flip handler, in `dir`: returns its manifest. */
function project(dir: string): string {
  const folder = copyFixture("crash", dir);
  fs.writeFileSync(path.join(folder, "flip.ts"), FLIP);
  fs.appendFileSync(path.join(folder, "autokitteh.yaml"), FLIP_TRIGGER);
  return path.join(folder, "autokitteh.yaml");
}

let dir: string;
let store: string;
let log: string;
/** The project the journals were recorded with: replay runs only the code it is given. */
let manifest: string;
const ids: Record<string, string> = {};

function run(manifest: string, trigger: string, event: object): string {
  const file = path.join(dir, `${trigger}.json`);
  fs.writeFileSync(file, JSON.stringify(event));
  const r = akts(["run", manifest, "--trigger", trigger, "--event", file, "--store", store]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).session_id;
}

/** Every file of a folder with its content hash: what a read-only command must leave as it was. */
function snapshot(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(folder, file)] = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  }
  return out;
}

beforeAll(async () => {
  dir = tempDir("replay");
  store = path.join(dir, "store");
  log = path.join(dir, "log");
  manifest = project(dir);
  ids.steps = run(manifest, "steps", { log, steps: 3, pauseMs: 1 });
  ids.fanout = run(manifest, "fanout", { log, delays: [40, 5, 80] });
  ids.flip = run(manifest, "flip", { log });
  // An unfinished session, killed once its 30 s sleep is journaled.
  const waitsEvent = path.join(dir, "waits.json");
  fs.writeFileSync(waitsEvent, JSON.stringify({ log, steps: 0, pauseMs: 1, sleepMs: 30_000 }));
  const before = new Set(JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout).map((x: { session_id: string }) => x.session_id));
  const earlier = new Set(segmentFiles(store));
  const sleeping = () => segmentsHold(store, "<akts>:sleep", earlier);
  expect((await killWhen(["run", manifest, "--trigger", "waits", "--event", waitsEvent, "--store", store], sleeping)).killed).toBe(true);
  ids.waits = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout).find((x: { session_id: string }) => !before.has(x.session_id)).session_id;
}, 120_000);

describe("unchanged code", () => {
  test("a store folder replays cleanly, runs nothing live, writes nothing and waits out no sleep", () => {
    const logBefore = lines(log);
    const storeBefore = snapshot(store);
    const started = Date.now();
    const r = akts(["replay", store, "--manifest", manifest]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual(
      [
        `${ids.steps}: replays cleanly (7 activities, result matches)`,
        `${ids.fanout}: replays cleanly (3 activities, result matches)`,
        `${ids.flip}: replays cleanly (1 activity, result matches)`,
        `${ids.waits}: replays cleanly up to entry #2; the session is unfinished`,
      ].sort(),
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(lines(log)).toEqual(logBefore);
    expect(snapshot(store)).toEqual(storeBefore);
  });

  test("a session id replays from --store", () => {
    const r = akts(["replay", ids.steps, "--store", store, "--manifest", manifest]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toBe(`${ids.steps}: replays cleanly (7 activities, result matches)\n`);
  });

  test("the same code taking another path says the code is unchanged", () => {
    const r = akts(["replay", ids.flip, "--store", store, "--manifest", manifest], { env: { FLIP: "1" } });
    expect(r.code).toBe(1);
    const header = JSON.parse(akts(["journal", ids.flip, "--store", store, "--json"]).stdout)[0];
    expect(r.stdout).toContain(
      `${ids.flip}: error AKTS5001: entry #1: journal has appendFileSync at flip.ts:5:8, code called readFileSync at flip.ts:4:25 (the code is unchanged since this session started: hash ${header.fingerprint})`,
    );
  });
});

describe("changed code", () => {
  test("a saved store with diverging journals fails with both sites and the hash change; the others replay cleanly", () => {
    const saved = path.join(dir, "ci-journals");
    fs.cpSync(store, saved, { recursive: true, filter: (src) => !src.endsWith(".inbox") });
    const other = tempDir("replay-changed");
    const manifest = project(other);
    const program = path.join(path.dirname(manifest), "program.ts");
    const source = fs.readFileSync(program, "utf8");
    const swapped = source.replace(
      "appendFileSync(event.log, `step ${step}\\n`);\n    await sleep(event.pauseMs);\n    values.push(await record(event.log, step));",
      "values.push(await record(event.log, step));\n    await sleep(event.pauseMs);\n    appendFileSync(event.log, `step ${step}\\n`);",
    );
    expect(swapped).not.toBe(source);
    fs.writeFileSync(program, swapped);
    // A call the journal of a finished session does not have.
    const flip = path.join(path.dirname(manifest), "flip.ts");
    fs.writeFileSync(flip, fs.readFileSync(flip, "utf8").replace('  return "flipped";', '  appendFileSync(event.log, "extra\\n");\n  return "flipped";'));
    const logBefore = lines(log);
    const r = akts(["replay", saved, "--manifest", manifest]);
    expect(r.code).toBe(1);
    const out = r.stdout.trim().split("\n");
    const diverged = out.find((l) => l.startsWith(`${ids.steps}:`))!;
    const m = diverged.match(
      /^ses_\w+: error AKTS5001: entry #2: journal has appendFileSync at program\.ts:24:5, code called record at program\.ts:24:23 \(the code changed since this session started: hash ([0-9a-f]{16}) → ([0-9a-f]{16})\)$/,
    );
    expect(m, diverged).not.toBeNull();
    expect(m![1]).not.toBe(m![2]);
    expect(out).toContain(`${ids.fanout}: replays cleanly (3 activities, result matches)`);
    expect(out.find((l) => l.startsWith(`${ids.flip}:`))).toMatch(
      /: error AKTS5001: entry #2: journal has no entry \(the session ended after #1\), code called appendFileSync at flip\.ts:6:3 \(the code changed since/,
    );
    expect(out).toContain(`${ids.waits}: replays cleanly up to entry #2; the session is unfinished`);
    expect(lines(log)).toEqual(logBefore);
  });

  test("a corrupt journal is reported with its offset", () => {
    const copy = path.join(tempDir("replay-corrupt"), "store");
    fs.cpSync(store, copy, { recursive: true });
    const second = sessionEntries(copy, ids.steps)[1];
    const file = second.file;
    const bytes = fs.readFileSync(file);
    bytes[second.bodyAt + 12] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const r = akts(["replay", ids.steps, "--store", copy, "--manifest", manifest]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${ids.steps}: ${file}@${second.frameAt}: error AKTS4001: journal is corrupt at byte ${second.frameAt}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });
});

import { afterEach, beforeEach, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkCallTargets, loadManifest, parseManifest, ManifestError } from "../runtime/manifest";
import { formatError, type Location } from "../errors";

const FILE = "proj/autokitteh.yaml";

/** The AKTS3001 a manifest text raises: message and where it points. */
function failure(text: string): { message: string; key?: string; at: string } {
  try {
    parseManifest(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    const e = err as ManifestError;
    expect(e.code).toBe("AKTS3001");
    const loc = e.location as Location;
    expect(loc.file).toBe(FILE);
    return { message: e.message, key: loc.key, at: `${loc.line}:${loc.column}` };
  }
  throw new Error("manifest was accepted");
}

const lines = (...l: string[]) => l.join("\n") + "\n";

describe("valid manifests", () => {
  test("v1 triggers are durable by default, is_durable overrides per trigger", () => {
    const m = parseManifest(
      lines(
        "version: v1",
        "project:",
        "  name: orders",
        "  triggers:",
        "    - name: web",
        "      type: webhook",
        "      call: program.ts:handler",
        "    - name: quick",
        "      is_durable: false",
        "      call: ./src/../quick.ts:run",
      ),
      FILE,
    );
    expect(m).toMatchObject({ path: FILE, dir: "proj", version: "v1", project: "orders", vars: [] });
    expect(m.triggers.map((t) => [t.name, t.type, t.durable, t.sync, t.maxAttempts])).toEqual([
      ["web", "webhook", true, false, 3],
      ["quick", "webhook", false, false, 3],
    ]);
    expect(m.triggers[1].call).toEqual({ file: "quick.ts", export: "run" });
    expect(m.triggers[1].loc).toEqual({ file: FILE, line: 8, column: 7, key: "project.triggers[1]" });
    expect(m.triggers[1].callLoc).toEqual({ file: FILE, line: 10, column: 13, key: "project.triggers[1].call" });
  });

  test("v2 triggers are non-durable by default; types, schedule, vars, max_attempts", () => {
    const m = parseManifest(
      lines(
        "version: v2",
        "project:",
        "  name: jobs",
        "  max_attempts: 5",
        "  connections:",
        "    - name: slack",
        "      integration: slack",
        "  triggers:",
        "    - name: nightly",
        "      schedule: '0 3 * * *'",
        "      call: jobs.ts:nightly",
        "    - name: api",
        "      type: webhook",
        "      is_sync: true",
        "      is_durable: true",
        "      timeout: 30",
        "      event_type: post",
        "      max_attempts: 1",
        "      call: api.ts:handle",
        "    - name: mention",
        "      connection: slack",
        "      event_type: app_mention",
        "      filter: data.text != ''",
        "      call: bot.ts:onMention",
        "  vars:",
        "    - name: TOKEN",
        "      value: abc",
        "      secret: true",
        "    - name: LEVEL",
        "      value: 010",
        "    - name: EMPTY",
      ),
      FILE,
    );
    const [nightly, api, mention] = m.triggers;
    expect(nightly).toMatchObject({ type: "schedule", schedule: "0 3 * * *", durable: false, maxAttempts: 5 });
    expect(api).toMatchObject({ type: "webhook", sync: true, durable: true, timeout: 30, eventType: "post", maxAttempts: 1 });
    expect(api.syncLoc).toEqual({ file: FILE, line: 14, column: 7, key: "project.triggers[1].is_sync" });
    expect(nightly.syncLoc).toBeUndefined();
    expect(mention).toMatchObject({ type: "connection", connection: "slack", eventType: "app_mention", filter: "data.text != ''" });
    expect(m.connections).toEqual([{ name: "slack", integration: "slack" }]);
    expect(m.vars).toEqual([
      { name: "TOKEN", value: "abc", secret: true },
      { name: "LEVEL", value: "010", secret: false },
      { name: "EMPTY", value: "", secret: false },
    ]);
  });
});

describe("every error names the key path and its line:column", () => {
  const trigger = (...extra: string[]) => lines("version: v2", "project:", "  name: p", "  triggers:", "    - name: t", ...extra);

  test.each([
    ["missing version", lines("project:", "  name: p"), "version", "1:1", "missing required key 'version'"],
    ["bad version", lines("version: v3", "project:", "  name: p"), "version", "1:10", "'v3' is not a manifest version (v1, v2)"],
    ["missing project", lines("version: v1"), "project", "1:1", "missing required key 'project'"],
    ["unknown top-level key", lines("version: v1", "projcet:", "  name: p"), "projcet", "2:1", "unknown key 'projcet'"],
    ["bad project name", lines("version: v1", "project:", "  name: my-proj"), "project.name", "3:9", "'my-proj' is not a valid project name (^\\w+$)"],
    ["project name not a string", lines("version: v1", "project:", "  name: [a]"), "project.name", "3:9", "must be a string"],
    ["project max_attempts 0", lines("version: v1", "project:", "  name: p", "  max_attempts: 0"), "project.max_attempts", "4:17", "must be a whole number of at least 1"],
    ["triggers not a list", lines("version: v1", "project:", "  name: p", "  triggers: {}"), "project.triggers", "4:13", "must be a list"],
    ["trigger not a mapping", lines("version: v1", "project:", "  name: p", "  triggers:", "    - web"), "project.triggers[0]", "5:7", "must be a mapping"],
    ["unknown trigger key (typo)", trigger("      is_durble: true", "      call: a.ts:h"), "project.triggers[0].is_durble", "6:7", "unknown key 'is_durble'"],
    ["missing call", trigger("      type: webhook"), "project.triggers[0].call", "5:7", "missing required key 'call'"],
    ["empty call", trigger("      call:"), "project.triggers[0].call", "6:7", "must not be empty"],
    ["call without export", trigger("      call: program.ts"), "project.triggers[0].call", "6:13", "'program.ts' is not file:export"],
    ["call escapes the project", trigger("      call: ../other/x.ts:h"), "project.triggers[0].call", "6:13", "'../other/x.ts' is outside the project folder"],
    ["call escapes after normalizing", trigger("      call: src/../../x.ts:h"), "project.triggers[0].call", "6:13", "'src/../../x.ts' is outside the project folder"],
    ["absolute call", trigger("      call: /etc/x.ts:h"), "project.triggers[0].call", "6:13", "'/etc/x.ts' is an absolute path"],
    ["bad trigger type", trigger("      type: cron", "      call: a.ts:h"), "project.triggers[0].type", "6:13", "'cron' is not a trigger type (webhook, schedule, connection)"],
    ["schedule without cron", trigger("      type: schedule", "      call: a.ts:h"), "project.triggers[0].schedule", "5:7", "missing required key 'schedule'"],
    ["invalid cron", trigger("      schedule: '61 * * * *'", "      call: a.ts:h"), "project.triggers[0].schedule", "6:17", "'61 * * * *' is not a cron expression: CronPattern: Invalid value for minute: 61"],
    ["schedule on a webhook", trigger("      type: webhook", "      schedule: '* * * * *'", "      call: a.ts:h"), "project.triggers[0].schedule", "7:7", "'schedule' applies to schedule triggers only"],
    ["is_sync on a schedule", trigger("      schedule: '* * * * *'", "      is_sync: true", "      call: a.ts:h"), "project.triggers[0].is_sync", "7:7", "'is_sync' applies to webhook triggers only"],
    ["is_sync not a boolean", trigger("      is_sync: 'yes'", "      call: a.ts:h"), "project.triggers[0].is_sync", "6:16", "must be true or false"],
    ["timeout without is_sync", trigger("      timeout: 5", "      call: a.ts:h"), "project.triggers[0].timeout", "6:7", "'timeout' applies to sync webhook triggers only (is_sync: true)"],
    ["trigger max_attempts not an integer", trigger("      max_attempts: 1.5", "      call: a.ts:h"), "project.triggers[0].max_attempts", "6:21", "must be a whole number of at least 1"],
    ["unknown connection", trigger("      connection: gh", "      call: a.ts:h"), "project.triggers[0].connection", "6:19", "no connection named 'gh' in project.connections"],
    [
      "duplicate trigger name",
      trigger("      call: a.ts:h", "    - name: t", "      call: b.ts:h"),
      "project.triggers[1].name",
      "7:13",
      "trigger 't' is defined twice",
    ],
    ["bad var name", lines("version: v1", "project:", "  name: p", "  vars:", "    - name: 1X", "      value: a"), "project.vars[0].name", "5:13", "'1X' is not a valid variable name (^[A-Za-z_][A-Za-z0-9_]*$)"],
    ["var value not a scalar", lines("version: v1", "project:", "  name: p", "  vars:", "    - name: X", "      value: [1]"), "project.vars[0].value", "6:14", "must be a string, number or boolean"],
    ["unknown var key", lines("version: v1", "project:", "  name: p", "  vars:", "    - name: X", "      secert: true"), "project.vars[0].secert", "6:7", "unknown key 'secert'"],
  ])("%s", (_name, text, key, at, message) => {
    expect(failure(text)).toEqual({ key, at, message });
  });

  test("a typo gets a suggestion; an unrelated key lists what is allowed", () => {
    const typo = () => parseManifest(lines("version: v1", "project:", "  name: p", "  max_atempts: 2"), FILE);
    expect(typo).toThrow(expect.objectContaining({ hint: "did you mean 'max_attempts'?" }));
    const other = () => parseManifest(lines("version: v1", "project:", "  name: p", "  color: red"), FILE);
    expect(other).toThrow(expect.objectContaining({ hint: "allowed: name, max_attempts, connections, triggers, vars" }));
  });

  test("invalid YAML and duplicate keys are located", () => {
    expect(failure(lines("version: v1", "project:", "  name: p", "  name: q"))).toMatchObject({ at: "4:3", message: expect.stringMatching(/^invalid YAML: Map keys must be unique/) });
    expect(failure(lines("version: v1", "project: [a", ""))).toMatchObject({ message: expect.stringMatching(/^invalid YAML/) });
  });

  test("the formatted error is one line with file, line:column and key", () => {
    try {
      parseManifest(lines("version: v2", "project:", "  name: p", "  triggers:", "    - name: t", "      call: ../x.ts:h"), FILE);
      expect.unreachable();
    } catch (err) {
      expect(formatError(err as ManifestError)).toBe(
        "proj/autokitteh.yaml:6:13 (project.triggers[0].call): error AKTS3001: '../x.ts' is outside the project folder",
      );
    }
  });
});

describe("loadManifest and checkCallTargets", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-manifest-"));
    fs.writeFileSync(path.join(dir, "program.ts"), "export async function handler() {}\n");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (call: string) => {
    const file = path.join(dir, "autokitteh.yaml");
    fs.writeFileSync(file, lines("version: v1", "project:", "  name: p", "  triggers:", "    - name: t", `      call: ${call}`));
    return file;
  };

  test("resolves paths and accepts an existing call file", () => {
    const m = loadManifest(write("program.ts:handler"));
    expect(m.path).toBe(path.join(dir, "autokitteh.yaml"));
    expect(m.dir).toBe(dir);
    expect(m.triggers[0].call.file).toBe("program.ts");
  });

  test("a missing call file is an error at the call value", () => {
    const file = write("missing.ts:handler");
    expect(() => loadManifest(file)).toThrow(
      expect.objectContaining({ code: "AKTS3001", message: "file 'missing.ts' does not exist", location: { file, line: 6, column: 13, key: "project.triggers[0].call" } }),
    );
  });

  test("a symlink leading outside the project folder is refused", () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "akts-outside-"));
    try {
      fs.writeFileSync(path.join(outside, "evil.ts"), "export function h() {}\n");
      fs.symlinkSync(path.join(outside, "evil.ts"), path.join(dir, "link.ts"));
      expect(() => loadManifest(write("link.ts:h"))).toThrow(expect.objectContaining({ code: "AKTS3001", message: "'link.ts' links outside the project folder" }));
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test("a missing manifest is AKTS9004", () => {
    expect(() => loadManifest(path.join(dir, "nope.yaml"))).toThrow(expect.objectContaining({ code: "AKTS9004" }));
  });

  test("checkCallTargets reports each missing export at its call", () => {
    const m = loadManifest(write("program.ts:handlr"));
    const asked: string[] = [];
    const errors = checkCallTargets(m, (file, name) => (asked.push(`${file}#${name}`), name === "handler"));
    expect(asked).toEqual([`${path.join(dir, "program.ts")}#handlr`]);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe("'program.ts' has no export named 'handlr'");
    expect(errors[0].location).toMatchObject({ line: 6, column: 13, key: "project.triggers[0].call" });
    expect(checkCallTargets(m, () => true)).toEqual([]);
  });
});

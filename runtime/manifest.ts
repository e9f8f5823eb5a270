/**
 * The manifest: AutoKitteh's `autokitteh.yaml` schema. `version: v1` makes triggers durable by default, `v2`
 * non-durable; `is_durable` decides per trigger. Every error names the manifest, the key and its line:column.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from "yaml";
import { Cron } from "croner";
import { AktsError, type Location } from "../errors";

export type TriggerType = "webhook" | "schedule" | "connection";

export interface Trigger {
  readonly name: string;
  readonly type: TriggerType;
  readonly schedule?: string;
  readonly eventType?: string;
  readonly filter?: string;
  readonly durable: boolean;
  readonly sync: boolean;
  readonly call: { readonly file: string; readonly export: string };
  readonly maxAttempts: number;
  /** Seconds a sync webhook waits for the handler before answering 504. */
  readonly timeout?: number;
  readonly loc: Location;
  /** Where `is_sync` is set, when it is. */
  readonly syncLoc?: Location;
}

export interface Var {
  readonly name: string;
  readonly value: string;
  readonly secret: boolean;
}

export interface Manifest {
  readonly path: string;
  readonly dir: string;
  readonly version: "v1" | "v2";
  readonly project: string;
  readonly triggers: Trigger[];
  readonly vars: Var[];
  readonly maxAttempts: number;
}

export class ManifestError extends AktsError {
  constructor(message: string, location: Location) {
    super("AKTS3001", message, { location });
  }
}

const NAME = /^\w+$/;
const TOP_KEYS = ["version", "project"];
const PROJECT_KEYS = ["name", "triggers", "vars", "connections", "max_attempts"];
const TRIGGER_KEYS = ["name", "type", "schedule", "event_type", "filter", "is_durable", "is_sync", "call", "connection", "max_attempts", "timeout"];
const VAR_KEYS = ["name", "value", "secret", "description"];

class Reader {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  loc(node: Node | undefined | null, key: string): Location {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col, key };
  }

  fail(message: string, node: Node | undefined | null, key: string): never {
    throw new ManifestError(`${key}: ${message}`, this.loc(node, key));
  }

  map(node: Node | undefined | null, key: string, allowed: readonly string[]): YAMLMap {
    if (!isMap(node)) this.fail("must be a mapping", node, key);
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : "?";
      if (!allowed.includes(name)) {
        this.fail(`unknown key '${name}' (allowed: ${allowed.join(", ")})`, pair.key as Node, key ? `${key}.${name}` : name);
      }
    }
    return node;
  }

  private value(map: YAMLMap, name: string): { node: Node | undefined; key: string } {
    return { node: map.get(name, true) as Node | undefined, key: name };
  }

  string(map: YAMLMap, name: string, key: string, required: true): string;
  string(map: YAMLMap, name: string, key: string, required?: boolean): string | undefined;
  string(map: YAMLMap, name: string, key: string, required = false): string | undefined {
    const { node } = this.value(map, name);
    const full = `${key}.${name}`.replace(/^\./, "");
    if (node === undefined || (isScalar(node) && node.value === null)) {
      if (required) this.fail("is required", map, full);
      return undefined;
    }
    if (!isScalar(node) || typeof node.value !== "string") this.fail("must be a string", node, full);
    return node.value as string;
  }

  bool(map: YAMLMap, name: string, key: string): boolean | undefined {
    const node = map.get(name, true) as Node | undefined;
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== "boolean") this.fail("must be true or false", node, `${key}.${name}`);
    return node.value as boolean;
  }

  positiveInt(map: YAMLMap, name: string, key: string): number | undefined {
    const node = map.get(name, true) as Node | undefined;
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== "number" || !Number.isInteger(node.value) || node.value < 1) {
      this.fail("must be a whole number of at least 1", node, `${key}.${name}`);
    }
    return node.value as number;
  }
}

/** Parses and validates a manifest's text. Pure: `call` targets are checked by loadManifest. */
export function parseManifest(text: string, file: string): Manifest {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const r: Reader = new Reader(file, lines);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, col } = lines.linePos(e.pos[0]);
    throw new ManifestError(`invalid YAML: ${e.message.split("\n")[0]}`, { file, line, column: col });
  }
  const top = r.map(doc.contents as Node, "", TOP_KEYS);
  const version = r.string(top, "version", "", true);
  if (version !== "v1" && version !== "v2") r.fail(`must be v1 or v2, not '${version}'`, top.get("version", true) as Node, "version");
  const projectNode = top.get("project", true) as Node | undefined;
  if (projectNode === undefined) r.fail("is required", top, "project");
  const project = r.map(projectNode, "project", PROJECT_KEYS);
  const name = r.string(project, "name", "project", true);
  if (!NAME.test(name)) r.fail(`'${name}' must match ^\\w+$`, project.get("name", true) as Node, "project.name");
  const maxAttempts = r.positiveInt(project, "max_attempts", "project") ?? 3;

  const triggers: Trigger[] = [];
  const triggersNode = project.get("triggers", true) as Node | undefined;
  if (triggersNode !== undefined && !isSeq(triggersNode)) r.fail("must be a list", triggersNode, "project.triggers");
  const seen = new Set<string>();
  for (const [i, node] of ((triggersNode as { items?: Node[] } | undefined)?.items ?? []).entries()) {
    const key = `project.triggers[${i}]`;
    const t = r.map(node, key, TRIGGER_KEYS);
    const tname = r.string(t, "name", key, true);
    if (!NAME.test(tname)) r.fail(`'${tname}' must match ^\\w+$`, t.get("name", true) as Node, `${key}.name`);
    if (seen.has(tname)) r.fail(`trigger name '${tname}' is used twice`, t.get("name", true) as Node, `${key}.name`);
    seen.add(tname);
    const type = (r.string(t, "type", key) ?? "webhook") as TriggerType;
    if (!["webhook", "schedule", "connection"].includes(type)) {
      r.fail(`must be webhook, schedule or connection, not '${type}'`, t.get("type", true) as Node, `${key}.type`);
    }
    const schedule = r.string(t, "schedule", key, type === "schedule");
    if (schedule !== undefined) {
      try {
        new Cron(schedule, { paused: true }).stop();
      } catch (err) {
        r.fail(`invalid cron expression '${schedule}': ${(err as Error).message}`, t.get("schedule", true) as Node, `${key}.schedule`);
      }
    }
    const callText = r.string(t, "call", key, true);
    const callNode = t.get("call", true) as Node;
    const m = /^(.+\.(?:[cm]?ts|[cm]?js|tsx|jsx)):([A-Za-z_$][\w$]*)$/.exec(callText);
    if (!m) r.fail(`'${callText}' must be file.ts:exportedFunction`, callNode, `${key}.call`);
    const callFile = path.posix.normalize(m[1].replace(/\\/g, "/"));
    if (path.posix.isAbsolute(callFile) || callFile.startsWith("../") || callFile === "..") {
      r.fail(`'${m[1]}' is outside the project folder`, callNode, `${key}.call`);
    }
    const isSync = r.bool(t, "is_sync", key);
    const durable = r.bool(t, "is_durable", key) ?? version === "v1";
    triggers.push({
      name: tname,
      type,
      schedule,
      eventType: r.string(t, "event_type", key),
      filter: r.string(t, "filter", key),
      durable,
      sync: isSync ?? false,
      call: { file: callFile, export: m[2] },
      maxAttempts: r.positiveInt(t, "max_attempts", key) ?? maxAttempts,
      timeout: r.positiveInt(t, "timeout", key),
      loc: r.loc(node, key),
      syncLoc: isSync === undefined ? undefined : r.loc(t.get("is_sync", true) as Node, `${key}.is_sync`),
    });
  }

  const vars: Var[] = [];
  const varsNode = project.get("vars", true) as Node | undefined;
  if (varsNode !== undefined && !isSeq(varsNode)) r.fail("must be a list", varsNode, "project.vars");
  for (const [i, node] of ((varsNode as { items?: Node[] } | undefined)?.items ?? []).entries()) {
    const key = `project.vars[${i}]`;
    const v = r.map(node, key, VAR_KEYS);
    const vname = r.string(v, "name", key, true);
    if (!/^[A-Za-z_]\w*$/.test(vname)) r.fail(`'${vname}' is not a valid variable name`, v.get("name", true) as Node, `${key}.name`);
    const valueNode = v.get("value", true) as Node | undefined;
    const value = isScalar(valueNode) ? String(valueNode.value ?? "") : valueNode === undefined ? "" : r.fail("must be a scalar", valueNode, `${key}.value`);
    vars.push({ name: vname, value, secret: r.bool(v, "secret", key) ?? false });
  }
  return { path: file, dir: path.dirname(file), version, project: name, triggers, vars, maxAttempts };
}

/** Reads a manifest and checks that every `call` file exists inside the project folder. */
export function loadManifest(file: string): Manifest {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, "utf8");
  } catch {
    throw new AktsError("AKTS9004", `manifest not found: ${file}`, { location: { file } });
  }
  const manifest = parseManifest(text, abs);
  for (const t of manifest.triggers) {
    if (!fs.existsSync(path.join(manifest.dir, t.call.file))) {
      throw new ManifestError(`${t.loc.key}.call: file '${t.call.file}' does not exist`, { ...t.loc, key: `${t.loc.key}.call` });
    }
  }
  return { ...manifest, dir: path.dirname(abs) };
}

export function findTrigger(manifest: Manifest, name: string): Trigger {
  const t = manifest.triggers.find((x) => x.name === name);
  if (!t) {
    const known = manifest.triggers.map((x) => x.name).join(", ") || "none";
    throw new AktsError("AKTS9001", `no trigger '${name}' in ${manifest.path} (triggers: ${known})`);
  }
  return t;
}

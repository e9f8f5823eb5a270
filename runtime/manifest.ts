/**
 * The manifest: AutoKitteh's `autokitteh.yaml` schema plus akts's own keys (docs/manifest.md). `version: v1` makes
 * triggers durable by default, `v2` non-durable; `is_durable` decides per trigger. Every error is an AKTS3001 that
 * names the manifest, the key path and its line:column; unknown keys are errors, so a typo never goes unnoticed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from "yaml";
import { Cron } from "croner";
import { AktsError, type Location } from "../errors";

export type TriggerType = "webhook" | "schedule" | "connection";

export interface Trigger {
  readonly name: string;
  readonly type: TriggerType;
  readonly schedule?: string;
  /** For connection triggers: the name of an entry of `project.connections`. */
  readonly connection?: string;
  readonly eventType?: string;
  readonly filter?: string;
  readonly durable: boolean;
  readonly sync: boolean;
  /** Seconds a sync webhook waits for its handler. */
  readonly timeout?: number;
  /** Sessions of this trigger that run at once in one runner; more wait in the store's queue (FIFO). */
  readonly maxConcurrent?: number;
  /** Seconds a webhook's Idempotency-Key keeps naming the session it started (default 24 h). */
  readonly idempotencyRetention: number;
  /** `file` is project-relative, `/`-separated, never outside the project folder. */
  readonly call: { readonly file: string; readonly export: string };
  readonly maxAttempts: number;
  /** The trigger's entry in the list. */
  readonly loc: Location;
  /** The `call` value. */
  readonly callLoc: Location;
  /** The `is_sync` key, when it is set. */
  readonly syncLoc?: Location;
}

export interface Var {
  readonly name: string;
  readonly value: string;
  readonly secret: boolean;
}

export interface Connection {
  readonly name: string;
  readonly integration: string;
}

export interface Manifest {
  /** As given to parseManifest; absolute after loadManifest. */
  readonly path: string;
  readonly dir: string;
  readonly version: "v1" | "v2";
  readonly project: string;
  readonly triggers: Trigger[];
  readonly vars: Var[];
  readonly connections: Connection[];
}

export class ManifestError extends AktsError {
  constructor(message: string, location: Location, hint?: string) {
    super("AKTS3001", message, { location, hint });
  }
}

export const DEFAULT_MAX_ATTEMPTS = 3;

const KEYS = {
  top: ["version", "project"],
  project: ["name", "max_attempts", "connections", "triggers", "vars"],
  connection: ["name", "integration"],
  trigger: ["name", "type", "schedule", "connection", "event_type", "filter", "is_durable", "is_sync", "timeout", "max_attempts", "max_concurrent", "idempotency_retention", "call"],
  var: ["name", "value", "secret", "description"],
} as const;

const NAME = /^\w+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TRIGGER_TYPES: readonly TriggerType[] = ["webhook", "schedule", "connection"];
const CALL = /^(.+\.(?:[cm]?ts|tsx|[cm]?js|jsx)):([A-Za-z_$][\w$]*)$/;

/** A YAML mapping being validated, with its key path (`project.triggers[1]`). */
interface Scope {
  readonly map: YAMLMap;
  readonly key: string;
}

/** A day, as Stripe keeps its idempotency keys. */
export const DEFAULT_IDEMPOTENCY_RETENTION_S = 24 * 60 * 60;

class Reader {
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  at(node: Node | null | undefined, key: string): Location {
    const { line, col } = this.lines.linePos(node?.range?.[0] ?? 0);
    return key ? { file: this.file, line, column: col, key } : { file: this.file, line, column: col };
  }

  fail(message: string, node: Node | null | undefined, key: string, hint?: string): never {
    throw new ManifestError(message, this.at(node, key), hint);
  }

  /** A mapping whose keys must all be in `allowed`. */
  scope(node: Node | null | undefined, key: string, allowed: readonly string[]): Scope {
    if (!isMap(node)) this.fail("must be a mapping", node, key);
    for (const pair of node.items as Pair<Node, Node>[]) {
      const name = isScalar(pair.key) ? String(pair.key.value) : "";
      if (!allowed.includes(name)) {
        const near = closest(name, allowed);
        this.fail(`unknown key '${name}'`, pair.key, join(key, name), near ? `did you mean '${near}'?` : `allowed: ${allowed.join(", ")}`);
      }
    }
    return { map: node, key };
  }

  node(s: Scope, name: string): Node | undefined {
    return (s.map.get(name, true) as Node | undefined) ?? undefined;
  }

  keyNode(s: Scope, name: string): Node | undefined {
    return (s.map.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === name)?.key;
  }

  /** A present, non-null value, or undefined; `required` makes absence an error located at the mapping. */
  present(s: Scope, name: string, required: boolean): Node | undefined {
    const node = this.node(s, name);
    if (node !== undefined && !(isScalar(node) && node.value === null)) return node;
    if (required) this.fail(node === undefined ? `missing required key '${name}'` : "must not be empty", node === undefined ? s.map : this.keyNode(s, name), join(s.key, name));
    return undefined;
  }

  string(s: Scope, name: string, required: true): string;
  string(s: Scope, name: string, required?: boolean): string | undefined;
  string(s: Scope, name: string, required = false): string | undefined {
    const node = this.present(s, name, required);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== "string") this.fail("must be a string", node, join(s.key, name), "quote the value");
    return node.value;
  }

  name(s: Scope, pattern: RegExp, what: string): string {
    const value = this.string(s, "name", true);
    if (!pattern.test(value)) this.fail(`'${value}' is not a valid ${what} (${pattern.source})`, this.node(s, "name"), join(s.key, "name"));
    return value;
  }

  bool(s: Scope, name: string): boolean | undefined {
    const node = this.present(s, name, false);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== "boolean") this.fail("must be true or false", node, join(s.key, name));
    return node.value;
  }

  positiveInt(s: Scope, name: string): number | undefined {
    const node = this.present(s, name, false);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== "number" || !Number.isInteger(node.value) || node.value < 1) {
      this.fail("must be a whole number of at least 1", node, join(s.key, name));
    }
    return node.value;
  }

  /** The mappings of an optional list, each checked against `allowed`. */
  list(s: Scope, name: string, allowed: readonly string[]): Scope[] {
    const node = this.present(s, name, false);
    if (node === undefined) return [];
    if (!isSeq(node)) this.fail("must be a list", node, join(s.key, name));
    return (node.items as Node[]).map((item, i) => this.scope(item, `${join(s.key, name)}[${i}]`, allowed));
  }

  /** Fails when `name` is set: the key does not apply to this entry. */
  forbid(s: Scope, name: string, why: string): void {
    if (this.node(s, name) !== undefined) this.fail(`'${name}' ${why}`, this.keyNode(s, name), join(s.key, name));
  }

  unique(seen: Set<string>, value: string, s: Scope, what: string): void {
    if (seen.has(value)) this.fail(`${what} '${value}' is defined twice`, this.node(s, "name"), join(s.key, "name"));
    seen.add(value);
  }
}

function join(parent: string, name: string): string {
  return parent ? `${parent}.${name}` : name;
}

/** The allowed key a typo most likely meant (edit distance at most 2). */
function closest(name: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** `file.ts:export` → a project-relative `/` path that stays inside the project folder. */
function parseCall(r: Reader, s: Scope): Trigger["call"] {
  const text = r.string(s, "call", true);
  const node = r.node(s, "call");
  const key = join(s.key, "call");
  const m = CALL.exec(text);
  if (!m) r.fail(`'${text}' is not file:export`, node, key, "for example program.ts:handler");
  const file = path.posix.normalize(m[1].replace(/\\/g, "/"));
  if (path.posix.isAbsolute(file) || /^[A-Za-z]:/.test(file)) r.fail(`'${m[1]}' is an absolute path`, node, key, "use a path relative to the manifest's folder");
  if (file === ".." || file.startsWith("../")) r.fail(`'${m[1]}' is outside the project folder`, node, key);
  return { file, export: m[2] };
}

/** Type from `type`, else inferred: `schedule` set → schedule, `connection` set → connection, else webhook. */
function triggerType(r: Reader, s: Scope): TriggerType {
  const type = r.string(s, "type");
  if (type === undefined) return r.node(s, "schedule") ? "schedule" : r.node(s, "connection") ? "connection" : "webhook";
  if (!TRIGGER_TYPES.includes(type as TriggerType)) r.fail(`'${type}' is not a trigger type (${TRIGGER_TYPES.join(", ")})`, r.node(s, "type"), join(s.key, "type"));
  return type as TriggerType;
}

function parseSchedule(r: Reader, s: Scope, type: TriggerType): string | undefined {
  if (type !== "schedule") {
    r.forbid(s, "schedule", "applies to schedule triggers only");
    return undefined;
  }
  const schedule = r.string(s, "schedule", true);
  try {
    new Cron(schedule, { paused: true }).stop();
  } catch (err) {
    r.fail(`'${schedule}' is not a cron expression: ${(err as Error).message}`, r.node(s, "schedule"), join(s.key, "schedule"), "five or six fields, e.g. '*/5 * * * *'");
  }
  return schedule;
}

function parseConnectionRef(r: Reader, s: Scope, type: TriggerType, connections: readonly Connection[]): string | undefined {
  if (type !== "connection") {
    r.forbid(s, "connection", "applies to connection triggers only");
    return undefined;
  }
  const name = r.string(s, "connection", true);
  if (!connections.some((c) => c.name === name)) {
    r.fail(`no connection named '${name}' in project.connections`, r.node(s, "connection"), join(s.key, "connection"));
  }
  return name;
}

function parseTrigger(r: Reader, s: Scope, version: Manifest["version"], projectMaxAttempts: number, connections: readonly Connection[]): Trigger {
  const name = r.name(s, NAME, "trigger name");
  const type = triggerType(r, s);
  const schedule = parseSchedule(r, s, type);
  const connection = parseConnectionRef(r, s, type, connections);
  if (type === "schedule") {
    r.forbid(s, "event_type", "does not apply to schedule triggers");
    r.forbid(s, "filter", "does not apply to schedule triggers");
  }
  if (type !== "webhook") {
    r.forbid(s, "is_sync", "applies to webhook triggers only");
    r.forbid(s, "timeout", "applies to sync webhook triggers only");
    r.forbid(s, "idempotency_retention", "applies to webhook triggers only (the Idempotency-Key header)");
  }
  const sync = r.bool(s, "is_sync");
  const timeout = r.positiveInt(s, "timeout");
  if (timeout !== undefined && sync !== true) r.fail("'timeout' applies to sync webhook triggers only (is_sync: true)", r.keyNode(s, "timeout"), join(s.key, "timeout"));
  const syncKey = r.keyNode(s, "is_sync");
  return {
    name,
    type,
    schedule,
    connection,
    eventType: r.string(s, "event_type"),
    filter: r.string(s, "filter"),
    durable: r.bool(s, "is_durable") ?? version === "v1",
    sync: sync ?? false,
    timeout,
    maxConcurrent: r.positiveInt(s, "max_concurrent"),
    idempotencyRetention: r.positiveInt(s, "idempotency_retention") ?? DEFAULT_IDEMPOTENCY_RETENTION_S,
    call: parseCall(r, s),
    maxAttempts: r.positiveInt(s, "max_attempts") ?? projectMaxAttempts,
    loc: r.at(s.map, s.key),
    callLoc: r.at(r.node(s, "call"), join(s.key, "call")),
    syncLoc: syncKey ? r.at(syncKey, join(s.key, "is_sync")) : undefined,
  };
}

function parseVar(r: Reader, s: Scope): Var {
  const name = r.name(s, ENV_NAME, "variable name");
  const node = r.present(s, "value", false);
  if (node !== undefined && !isScalar(node)) r.fail("must be a string, number or boolean", node, join(s.key, "value"));
  // Plain scalars keep their source text, so `value: 010` stays "010" in the environment.
  const value = node === undefined ? "" : (node.source ?? String(node.value));
  r.string(s, "description");
  return { name, value, secret: r.bool(s, "secret") ?? false };
}

/** Parses and validates a manifest's text. Pure: loadManifest checks the `call` files on disk. */
export function parseManifest(text: string, file: string): Manifest {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, col } = lines.linePos(e.pos[0]);
    throw new ManifestError(`invalid YAML: ${e.message.split("\n")[0]}`, { file, line, column: col });
  }
  const r: Reader = new Reader(file, lines);
  if (doc.contents === null) r.fail("the manifest is empty", null, "version");
  const top = r.scope(doc.contents, "", KEYS.top);
  const version = r.string(top, "version", true);
  if (version !== "v1" && version !== "v2") r.fail(`'${version}' is not a manifest version (v1, v2)`, r.node(top, "version"), "version");
  const project = r.scope(r.present(top, "project", true), "project", KEYS.project);
  const name = r.name(project, NAME, "project name");
  const maxAttempts = r.positiveInt(project, "max_attempts") ?? DEFAULT_MAX_ATTEMPTS;

  const connections: Connection[] = [];
  const connectionNames = new Set<string>();
  for (const s of r.list(project, "connections", KEYS.connection)) {
    const c = { name: r.name(s, NAME, "connection name"), integration: r.string(s, "integration", true) };
    r.unique(connectionNames, c.name, s, "connection");
    connections.push(c);
  }
  const triggers: Trigger[] = [];
  const triggerNames = new Set<string>();
  for (const s of r.list(project, "triggers", KEYS.trigger)) {
    const t = parseTrigger(r, s, version, maxAttempts, connections);
    r.unique(triggerNames, t.name, s, "trigger");
    triggers.push(t);
  }
  const vars: Var[] = [];
  const varNames = new Set<string>();
  for (const s of r.list(project, "vars", KEYS.var)) {
    const v = parseVar(r, s);
    r.unique(varNames, v.name, s, "variable");
    vars.push(v);
  }
  return { path: file, dir: path.dirname(file), version, project: name, triggers, vars, connections };
}

/**
 * Reads a manifest and checks that every `call` file exists and, symlinks resolved, lies inside the manifest's
 * folder. Locations keep the path as given; `path` and `dir` of the result are absolute.
 */
export function loadManifest(file: string): Manifest {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, "utf8");
  } catch (err) {
    throw new AktsError("AKTS9004", `cannot read manifest: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { location: { file } });
  }
  const parsed = parseManifest(text, file);
  const dir = path.dirname(abs);
  const realDir = fs.realpathSync(dir);
  for (const t of parsed.triggers) {
    let real: string;
    try {
      real = fs.realpathSync(path.join(dir, t.call.file));
    } catch {
      throw new ManifestError(`file '${t.call.file}' does not exist`, t.callLoc, `looked in ${dir}`);
    }
    if (!fs.statSync(real).isFile()) throw new ManifestError(`'${t.call.file}' is not a file`, t.callLoc);
    const rel = path.relative(realDir, real);
    if (rel.startsWith("..") || path.isAbsolute(rel)) throw new ManifestError(`'${t.call.file}' links outside the project folder`, t.callLoc);
  }
  return { ...parsed, path: abs, dir };
}

/**
 * Checks that each trigger's export exists, with the caller's parser (the compiler's type checker, or the loaded
 * module). `file` is passed as `path.join(manifest.dir, call.file)`. Returns one error per missing export.
 */
export function checkCallTargets(manifest: Manifest, hasExport: (file: string, name: string) => boolean): ManifestError[] {
  return manifest.triggers
    .filter((t) => !hasExport(path.join(manifest.dir, t.call.file), t.call.export))
    .map((t) => new ManifestError(`'${t.call.file}' has no export named '${t.call.export}'`, t.callLoc));
}

export function findTrigger(manifest: Manifest, name: string): Trigger {
  const t = manifest.triggers.find((x) => x.name === name);
  if (!t) {
    const known = manifest.triggers.map((x) => x.name).join(", ") || "none";
    throw new AktsError("AKTS9001", `no trigger '${name}' in ${manifest.path} (triggers: ${known})`);
  }
  return t;
}

/**
 * Finds a trigger's handler in a target: a manifest (its TypeScript project is compiled, cached) or a bundle
 * folder written by `akts build` (its modules are imported as they are; TypeScript is never loaded).
 */
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { AktsError } from "../errors";
import { findTrigger, loadManifest, type Manifest, type Trigger } from "../runtime/manifest";
import type { Handler, TriggerRef } from "../runtime/engine";
import { compileProject, type CompiledProject } from "./compile-cache";
import { isBundleDir, readBundle, BUNDLE_FILE } from "./bundle";
import { readShapeFile, type ShapeFile } from "./replay-shape-file";
import type { KeptVersion } from "../runtime/store/store";

export interface LoadedProject {
  readonly manifest: Manifest;
  /** Compiles a manifest's project now (a bundle is built already): a project with error findings fails here. */
  prepare(): void;
  handler(trigger: Trigger): Promise<{ ref: TriggerRef; handler: Handler }>;
  /** The compiled code (compiling a manifest's project now): its folder, replay shape and fingerprint, and each trigger's module. */
  code(): CodeVersion;
}

export interface CodeVersion extends ShapeFile {
  readonly dir: string;
  /** By `call` (`program.ts:handler`): its module, relative to `dir`. */
  readonly modules: Record<string, string>;
}

/**
 * The one entry point of every command that runs handlers (`run`, `resume`, `replay`, `serve`): `target` is a
 * manifest file or a bundle folder. Its absolute path is what session headers record, so `akts resume` loads
 * the same kind of target again.
 */
export function loadTarget(target: string): LoadedProject {
  if (isBundleDir(target)) return loadBundle(target);
  const manifest = loadManifest(target);
  // Compiled when a handler is first asked for, so a wrong trigger name fails before any compile.
  let compiled: CompiledProject | undefined;
  const compile = () => (compiled ??= compileProject(manifest.dir));
  const code = (): CodeVersion => {
    const { dir } = compile();
    const modules = Object.fromEntries(manifest.triggers.map((t) => [callOf(t), path.relative(dir, compile().outputFor(t.call.file))]));
    return { dir, modules, ...readShapeFile(dir) };
  };
  return project(manifest, path.resolve(manifest.path), compile, code, (trigger) => ({ file: compile().outputFor(trigger.call.file), codeHash: compile().fingerprint }));
}

/** A version of the project's code kept in the store (file-versions.ts): the handlers it had, run as they were. */
export function loadKept(manifest: Manifest, kept: KeptVersion): LoadedProject {
  const code = (): CodeVersion => ({ dir: kept.dir, modules: { ...kept.modules }, ...readShapeFile(kept.dir) });
  return project(manifest, kept.dir, () => {}, code, (trigger) => {
    const module = kept.modules[callOf(trigger)];
    if (!module) throw new AktsError("AKTS5013", `the kept version ${kept.fingerprint} has no handler ${callOf(trigger)}`, { location: { file: kept.dir } });
    return { file: path.join(kept.dir, module), codeHash: kept.fingerprint };
  });
}

const callOf = (trigger: Trigger) => `${trigger.call.file}:${trigger.call.export}`;

function loadBundle(folder: string): LoadedProject {
  const bundle = readBundle(folder);
  const code = (): CodeVersion => ({
    dir: bundle.dir,
    modules: Object.fromEntries(Object.entries(bundle.info.handlers).map(([call, h]) => [call, h.module])),
    ...readShapeFile(bundle.dir),
  });
  return project(bundle.manifest, bundle.dir, () => {}, code, (trigger) => {
    const call = `${trigger.call.file}:${trigger.call.export}`;
    const built = bundle.info.handlers[call];
    if (!built) {
      throw new AktsError("AKTS9006", `the bundle has no handler ${call} for trigger '${trigger.name}'`, {
        location: { file: path.join(folder, BUNDLE_FILE), key: "handlers" },
        hint: "rebuild the bundle from the current manifest",
      });
    }
    return { file: path.join(bundle.dir, built.module), codeHash: bundle.info.fingerprint ?? built.codeHash ?? "" };
  });
}

/**
 * The manifest's vars are the handler's environment: they are set in process.env each time one of the project's
 * handlers is handed out (before its module is first imported), so sessions run one after another in a process
 * (as `akts resume` runs them) each see their own project's values.
 */
function project(
  manifest: Manifest,
  target: string,
  prepare: () => void,
  code: () => CodeVersion,
  locate: (trigger: Trigger) => { file: string; codeHash: string },
): LoadedProject {
  return {
    manifest,
    prepare,
    code,
    async handler(trigger) {
      const { file, codeHash } = locate(trigger);
      for (const v of manifest.vars) process.env[v.name] = v.value;
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      const fn = mod[trigger.call.export] ?? (mod.default as Record<string, unknown> | undefined)?.[trigger.call.export];
      if (typeof fn !== "function") {
        throw new AktsError("AKTS3001", `${trigger.call.file} has no exported function '${trigger.call.export}'`, {
          location: { ...trigger.loc, key: `${trigger.loc.key}.call` },
        });
      }
      const ref: TriggerRef = {
        project: manifest.project,
        trigger: trigger.name,
        handler: `${trigger.call.file}:${trigger.call.export}`,
        mode: trigger.durable ? "durable" : "nondurable",
        maxAttempts: trigger.maxAttempts,
        codeHash,
        manifest: target,
      };
      return { ref, handler: fn as Handler };
    },
  };
}

/**
 * The trigger a session header names, with the handler it ran: a session started by `start()` runs the
 * `file:export` it was given under its parent's trigger.
 */
export function sessionTrigger(manifest: Manifest, trigger: string, handler?: string): Trigger {
  const t = findTrigger(manifest, trigger);
  if (handler === undefined || handler === `${t.call.file}:${t.call.export}`) return t;
  const at = handler.lastIndexOf(":");
  return { ...t, call: { file: handler.slice(0, at), export: handler.slice(at + 1) } };
}

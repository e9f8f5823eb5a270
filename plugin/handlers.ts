/** Finds a trigger's handler: compiles the manifest's project (cached) and imports the `call` export. */
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { AktsError } from "../errors";
import { loadManifest, type Manifest, type Trigger } from "../runtime/manifest";
import type { Handler, TriggerRef } from "../runtime/engine";
import { compileProject, type CompiledProject } from "./compile-cache";

export interface LoadedProject {
  readonly manifest: Manifest;
  readonly compiled: CompiledProject;
  handler(trigger: Trigger): Promise<{ ref: TriggerRef; handler: Handler }>;
}

/**
 * The manifest's vars are the handler's environment: they are set in process.env each time one of the project's
 * handlers is handed out (before its module is first imported), so sessions run one after another in a process
 * (as `akts resume` runs them) each see their own project's values.
 */
export function loadHandlers(manifest: Manifest): LoadedProject {
  const compiled = compileProject(manifest.dir);
  return {
    manifest,
    compiled,
    async handler(trigger) {
      for (const v of manifest.vars) process.env[v.name] = v.value;
      const file = compiled.outputFor(trigger.call.file);
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
        codeHash: compiled.codeHash,
        manifest: path.resolve(manifest.path),
      };
      return { ref, handler: fn as Handler };
    },
  };
}

/**
 * What a command that serves a project is pointed at, loaded and ready to hand out handlers. Today that is a
 * manifest path; other kinds of target (a built bundle) are told apart here, so commands take any of them.
 */
export function loadTarget(target: string): LoadedProject {
  return loadHandlers(loadManifest(target));
}

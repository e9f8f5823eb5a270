/**
 * The Babel plugin: `plugins: [["akts/babel", { projectDir, runtime, allow, deny, failOn }]]` in a Babel config,
 * for JavaScript handlers and bundlers. The same rule table as the TypeScript path, without types (docs/babel.md).
 * Each file's sites and findings go to `file.metadata.akts`, and the findings to standard error; with
 * `failOn: "error"` an error finding fails the file's transform, and so the bundler's build.
 */
import type { NodePath } from "@babel/traverse";
import type * as t from "@babel/types";
import * as path from "node:path";
import { AktsError, formatFinding, formatLocation, type Location } from "../errors";
import { validateOptions } from "../compiler";
import { transformProgram } from "../compiler/babel";
import type { Diagnostic, SiteInfo } from "../compiler/types";

interface PluginPass {
  readonly filename?: string;
  readonly cwd: string;
  readonly file: { readonly code: string; readonly metadata: Record<string, unknown> };
}

interface PluginApi {
  assertVersion(range: number | string): void;
}

/** What a file's transform leaves in `file.metadata.akts`. */
interface AktsBabelMetadata {
  readonly sites: SiteInfo[];
  readonly diagnostics: Diagnostic[];
}

const WHERE = { file: "babel config", key: "plugins[akts]" };
/** The least severe finding that fails the transform: `never` (the default) reports findings and goes on. */
const FAIL_ON = ["error", "warning", "never"] as const;
type FailOn = (typeof FAIL_ON)[number];

/** `failOn` belongs to this plugin, not to the compiler's options: it is taken out before those are checked. */
function pluginOptions(raw: unknown): { failOn: FailOn; compiler: unknown } {
  if (!raw || typeof raw !== "object" || !("failOn" in raw)) return { failOn: "never", compiler: raw };
  const { failOn, ...compiler } = raw as Record<string, unknown>;
  if (!(FAIL_ON as readonly unknown[]).includes(failOn)) {
    throw new AktsError("AKTS9002", `failOn must be "error", "warning" or "never", not ${JSON.stringify(failOn)}`, { location: { ...WHERE, key: "plugins[akts].failOn" } });
  }
  return { failOn: failOn as FailOn, compiler };
}

/** Babel calls this once per options object; options are checked there, not per file. */
function aktsBabelPlugin(api: PluginApi, rawOptions: unknown): { name: string; visitor: { Program(path: NodePath<t.Program>, state: PluginPass): void } } {
  api.assertVersion(7);
  const { failOn, compiler } = pluginOptions(rawOptions);
  const options = validateOptions(compiler, WHERE);
  return {
    name: "akts",
    visitor: {
      Program(programPath, state) {
        // Sites are named by file: code without a file name has nowhere to point.
        if (state.filename === undefined) throw new AktsError("AKTS9002", "the akts Babel plugin needs a file name: pass `filename` to Babel", { location: WHERE });
        const projectDir = options.projectDir ?? state.cwd;
        const { sites, diagnostics } = transformProgram(programPath.node, state.file.code, state.filename, { ...options, projectDir });
        state.file.metadata.akts = { sites, diagnostics } satisfies AktsBabelMetadata;
        report(diagnostics, projectDir, failOn);
        // The nodes were replaced in place: later plugins (a CommonJS transform) must see the stub import's binding.
        if (sites.length > 0 || options.aktsModule) programPath.scope.crawl();
      },
    },
  };
}

/** Prints each finding, as `akts check` does; throws the first one that `failOn` makes fatal. */
function report(diagnostics: readonly Diagnostic[], projectDir: string, failOn: FailOn): void {
  const where = (d: Diagnostic): Location => ({ file: path.relative(process.cwd(), path.join(projectDir, d.file)) || d.file, line: d.line, column: d.column });
  for (const d of diagnostics) process.stderr.write(formatFinding({ ...d, location: where(d) }) + "\n");
  const fatal = failOn === "never" ? undefined : diagnostics.find((d) => d.severity === "error" || (failOn === "warning" && d.severity === "warning"));
  // Bundlers print the message alone: it carries the location and the code.
  if (fatal) throw new AktsError(fatal.code, `${formatLocation(where(fatal))}: ${fatal.code} ${fatal.message} (failOn: "${failOn}")`, { hint: fatal.hint });
}

export = aktsBabelPlugin;

/**
 * The Babel plugin: `plugins: [["akts/babel", { projectDir, runtime, allow, deny }]]` in a Babel config, for
 * JavaScript handlers and bundlers. The same rule table as the TypeScript path, without types (docs/babel.md).
 */
import type { NodePath } from "@babel/traverse";
import type * as t from "@babel/types";
import { AktsError } from "../errors";
import { validateOptions } from "../compiler";
import { transformProgram } from "../compiler/babel";

interface PluginPass {
  readonly filename?: string;
  readonly cwd: string;
  readonly file: { readonly code: string };
}

interface PluginApi {
  assertVersion(range: number | string): void;
}

const WHERE = { file: "babel config", key: "plugins[akts]" };

/** Babel calls this once per options object; options are checked there, not per file. */
function aktsBabelPlugin(api: PluginApi, rawOptions: unknown): { name: string; visitor: { Program(path: NodePath<t.Program>, state: PluginPass): void } } {
  api.assertVersion(7);
  const options = validateOptions(rawOptions, WHERE);
  return {
    name: "akts",
    visitor: {
      Program(path, state) {
        // Sites are named by file: code without a file name has nowhere to point.
        if (state.filename === undefined) throw new AktsError("AKTS9002", "the akts Babel plugin needs a file name: pass `filename` to Babel", { location: WHERE });
        const { sites } = transformProgram(path.node, state.file.code, state.filename, { ...options, projectDir: options.projectDir ?? state.cwd });
        // The nodes were replaced in place: later plugins (a CommonJS transform) must see the stub import's binding.
        if (sites.length > 0 || options.aktsModule) path.scope.crawl();
      },
    },
  };
}

export = aktsBabelPlugin;

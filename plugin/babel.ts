/**
 * The Babel plugin: `plugins: [["akts/babel", { projectDir, runtime, allow, deny }]]` in a Babel config, for
 * JavaScript handlers and bundlers. The same rule table as the TypeScript path, without types (docs/babel.md).
 */
import type { NodePath } from "@babel/traverse";
import type * as t from "@babel/types";
import { validateOptions } from "../compiler";
import { transformProgram } from "../compiler/babel";

interface PluginPass {
  readonly filename?: string;
  readonly cwd: string;
  readonly opts: unknown;
  readonly file: { readonly code: string };
}

function aktsBabelPlugin(): { name: string; visitor: { Program(path: NodePath<t.Program>, state: PluginPass): void } } {
  return {
    name: "akts",
    visitor: {
      Program(path, state) {
        const options = validateOptions(state.opts, { file: "babel config", key: "plugins[akts]" });
        const filename = state.filename ?? "unknown.js";
        transformProgram(path, state.file.code, filename, { ...options, projectDir: options.projectDir ?? state.cwd });
      },
    },
  };
}

export = aktsBabelPlugin;

/**
 * @babel/types, read once: its CommonJS build exports every function through a getter, and a getter call per node
 * test was most of the cost of the walk. Node types come from the package itself (`import type * as T`).
 */
import * as types from "@babel/types";

export const t: typeof types = { ...types };

/** The plugin options (tsconfig `plugins` entry, Babel plugin options, CLI): validated, unknown keys refused. */
import { AktsError, type Location } from "../errors";
import type { AktsCompilerOptions } from "./types";

const STRING_KEYS = ["runtime", "aktsModule", "projectDir"] as const;
const LIST_KEYS = ["allow", "deny"] as const;
/** Keys the hosts themselves put in the entry. */
const HOST_KEYS = ["transform", "name", "type", "import", "after", "afterDeclarations", "transformProgram", "isEsm"];

/**
 * `where` names the options' source (a file, or a full location); `locateKey`, when the host can, points at the
 * line and column of one key in that source, so an error lands on the offending key.
 */
export function validateOptions(raw: unknown, where: string | Location, locateKey?: (key: string) => Location | undefined): AktsCompilerOptions {
  const base: Location = typeof where === "string" ? { file: where } : where;
  const fail = (message: string, key?: string): never => {
    throw new AktsError("AKTS9002", message, { location: (key !== undefined && locateKey?.(key)) || base });
  };
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) return fail("akts plugin options must be an object");
  const out: Record<string, unknown> = {};
  const allowed = [...STRING_KEYS, ...LIST_KEYS];
  for (const [key, value] of Object.entries(raw)) {
    if (HOST_KEYS.includes(key)) continue;
    if ((STRING_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== "string") fail(`akts plugin option '${key}' must be a string`, key);
    } else if ((LIST_KEYS as readonly string[]).includes(key)) {
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || !/^[^:]+:.+$/.test(v))) {
        fail(`akts plugin option '${key}' must be a list of "module:export" patterns`, key);
      }
    } else {
      fail(`unknown akts plugin option '${key}' (known: ${allowed.join(", ")})`, key);
    }
    out[key] = value;
  }
  return out as AktsCompilerOptions;
}

/** The plugin options (tsconfig `plugins` entry, Babel plugin options, CLI): validated, unknown keys refused. */
import { AktsError, type Location } from "../errors";
import type { AktsCompilerOptions } from "./types";

const STRING_KEYS = ["runtime", "aktsModule", "projectDir"] as const;
const LIST_KEYS = ["allow", "deny"] as const;
/** Keys the hosts themselves put in the entry. */
const HOST_KEYS = ["transform", "name", "type", "import", "after", "afterDeclarations", "transformProgram", "isEsm"];

export function validateOptions(raw: unknown, where: Location): AktsCompilerOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new AktsError("AKTS9002", "akts plugin options must be an object", { location: where });
  const out: Record<string, unknown> = {};
  const allowed = [...STRING_KEYS, ...LIST_KEYS];
  for (const [key, value] of Object.entries(raw)) {
    if (HOST_KEYS.includes(key)) continue;
    if ((STRING_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== "string") throw new AktsError("AKTS9002", `akts plugin option '${key}' must be a string`, { location: where });
    } else if ((LIST_KEYS as readonly string[]).includes(key)) {
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || !/^[^:]+:.+$/.test(v))) {
        throw new AktsError("AKTS9002", `akts plugin option '${key}' must be a list of "module:export" patterns`, { location: where });
      }
    } else {
      throw new AktsError("AKTS9002", `unknown akts plugin option '${key}' (known: ${allowed.join(", ")})`, { location: where });
    }
    out[key] = value;
  }
  return out as AktsCompilerOptions;
}

import { AktsError } from "../errors";

export interface ArgSpec {
  /** Flags that take a value, with their aliases: `{ project: ["-p", "--project"] }`. */
  readonly options?: Record<string, readonly string[]>;
  /** Boolean flags. */
  readonly flags?: Record<string, readonly string[]>;
}

export interface ParsedArgs {
  readonly options: Record<string, string | undefined>;
  readonly flags: Record<string, boolean>;
  readonly positional: string[];
}

/** A small strict parser: an unknown flag is an error, never ignored. `--name=value` and `--name value` both work. */
export function parseArgs(command: string, argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const options: Record<string, string | undefined> = {};
  const flags: Record<string, boolean> = {};
  const positional: string[] = [];
  const byAlias = new Map<string, { key: string; takesValue: boolean }>();
  for (const [key, aliases] of Object.entries(spec.options ?? {})) for (const a of aliases) byAlias.set(a, { key, takesValue: true });
  for (const [key, aliases] of Object.entries(spec.flags ?? {})) {
    flags[key] = false;
    for (const a of aliases) byAlias.set(a, { key, takesValue: false });
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-" || !arg.startsWith("-")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const known = byAlias.get(name);
    if (!known) throw new AktsError("AKTS9001", `unknown option '${name}' (akts ${command} --help lists them)`);
    if (!known.takesValue) {
      flags[known.key] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new AktsError("AKTS9001", `option '${name}' needs a value`);
    options[known.key] = value;
  }
  return { options, flags, positional };
}

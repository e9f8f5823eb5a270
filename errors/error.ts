import { CODES, type Code, type Severity } from "./codes";
import { formatLocation, type Location } from "./location";

/**
 * Base class of every error akts raises for a user mistake or a broken input. The CLI prints these with
 * `formatError` (one line, no stack); anything else that escapes is a bug in akts and keeps its stack.
 */
export class AktsError extends Error {
  readonly code: Code;
  readonly location?: Location;
  readonly hint?: string;

  constructor(code: Code, message: string, options: { location?: Location; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.location = options.location;
    this.hint = options.hint;
  }

  get severity(): Severity {
    return CODES[this.code].severity;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** One formatted line (plus an optional hint line) for any akts error, shared by CLI, editor and runtime. */
export function formatError(err: AktsError): string {
  return formatFinding({
    code: err.code,
    severity: err.severity,
    message: err.message,
    location: err.location,
    hint: err.hint,
  });
}

export interface Finding {
  readonly code: Code;
  readonly severity: Severity;
  readonly message: string;
  readonly location?: Location;
  readonly hint?: string;
}

export function formatFinding(f: Finding): string {
  const where = f.location ? `${formatLocation(f.location)}: ` : "";
  const hint = f.hint ? `\n  hint: ${f.hint}` : "";
  return `${where}${f.severity} ${f.code}: ${f.message}${hint}`;
}

export function isAktsError(err: unknown): err is AktsError {
  return err instanceof AktsError;
}

/**
 * Each command's arguments, written once: `akts <command> --help` shows them, and a command given the wrong
 * arguments reports them (details in the README's CLI section).
 */
import { AktsError } from "../errors";

export const USAGE: Readonly<Record<string, string>> = {
  check: "[-p tsconfig.json] [--manifest autokitteh.yaml] [--format text|json|sarif]",
  build: "<manifest> [-o dir]",
  run: "<manifest | bundle> --trigger <name> [--event file.json|-] [--store dir|url]",
  resume: "[--manifest m | --bundle dir] [--store dir|url] [--wait seconds]",
  serve: "<manifest | bundle> [--port N] [--host H] [--store dir|url] [--max-body bytes] [--max-connections N] [--grace seconds] [--print-token]",
  worker: "<manifest | bundle> [--store dir|url] [--grace seconds]",
  event: "<session> <name> [--data json] [--store dir|url | --manifest m]",
  sessions: "[--store dir|url | --manifest m] [--status s] [--limit n] [--json]",
  journal: "<session> [--store dir|url | --manifest m] [--json]",
  replay: "<session-id | journal file | folder of journals> [--bundle dir | --manifest m] [--store dir|url]",
};

export function usageLine(command: string): string {
  return `usage: akts ${command} ${USAGE[command]}`;
}

/** The error of a command run with the wrong arguments. */
export function usageError(command: string): AktsError {
  return new AktsError("AKTS9001", usageLine(command));
}

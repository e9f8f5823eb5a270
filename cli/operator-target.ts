/**
 * Journals never choose code. `akts resume` and `akts replay` run only a target the operator names: `--manifest`
 * (a manifest or a bundle folder) or `--bundle`, else the project the store belongs to, which is the manifest
 * beside a store folder named `.akts` (where `akts run` and `akts serve` put a project's store). The manifest path a
 * session's header records is never loaded, and a session of another project is refused (AKTS9007): its header
 * would otherwise have the operator's code run against a journal written by other code.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError } from "../errors";
import type { HeaderRecord } from "../runtime/journal";
import { isDatabaseStore, STORE_DIR, storeLocation } from "../runtime/store";

const MANIFEST_FILE = "autokitteh.yaml";

/** The target to run: the one named, else the store's own project; an AktsError when there is neither. */
export function operatorTarget(named: string | undefined, storeSpec: string | undefined): string {
  if (named !== undefined) return named;
  if (!isDatabaseStore(storeSpec)) {
    const store = storeLocation({ dir: storeSpec });
    const beside = path.join(path.dirname(store), MANIFEST_FILE);
    if (path.basename(store) === STORE_DIR && fs.existsSync(beside)) return beside;
  }
  throw new AktsError("AKTS9007", "akts runs only code you name, never the code a journal names: pass --manifest <autokitteh.yaml> or --bundle <dir>", {
    hint: `or run it in the project's folder, beside its ${MANIFEST_FILE} and ${STORE_DIR}/`,
  });
}

/** Refuses a session whose header names another project than the target's. */
export function assertProject(header: Pick<HeaderRecord, "sessionId" | "project">, project: string, target: string): void {
  if (header.project === project) return;
  throw new AktsError("AKTS9007", `session ${header.sessionId} belongs to project '${header.project}', not '${project}' of ${target}: refused`, {
    hint: "pass that project's --manifest or --bundle",
  });
}

/**
 * `akts values [--manifest m] [--store dir|url] [--project name] [--json]`: the project's stored values
 * (getValue/setValue...), sorted by key. The project is the manifest's unless --project names it.
 */
import { AktsError } from "../../errors";
import { loadManifest } from "../../runtime/manifest";
import { parseArgs } from "../args";
import { STORE_OPTION, withStore } from "../store";
import { table } from "../table";

/** A value as one table cell: JSON, cut to a readable length. */
function cell(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs("values", argv, {
    options: { ...STORE_OPTION, manifest: ["--manifest", "-m"], project: ["--project", "-p"] },
    flags: { json: ["--json"] },
  });
  if (args.positional.length > 0) throw new AktsError("AKTS9001", `unexpected argument '${args.positional[0]}'`);
  const manifest = args.options.manifest ?? (args.options.project === undefined ? "autokitteh.yaml" : undefined);
  const project = args.options.project ?? loadManifest(manifest!).project;
  const values = await withStore({ store: args.options.store, manifest: args.options.manifest, mustExist: true }, (store) => store.listValues(project));
  if (args.flags.json) {
    process.stdout.write(JSON.stringify(values, null, 2) + "\n");
    return 0;
  }
  process.stdout.write(table(["KEY", "VALUE"], values.map((v) => [v.key, cell(v.value)])));
  return 0;
}

import * as api from "semantics-api";
export async function run() {
  return [api.echo("ns"), await api.upper("ns")];
}

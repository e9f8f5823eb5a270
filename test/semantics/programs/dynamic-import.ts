export async function run() {
  const api = await import("semantics-api");
  return api.echo("dynamic");
}

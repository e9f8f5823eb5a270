import { createServer, type Server } from "node:http";
import { noActivity } from "akts";
const listen = noActivity(
  () =>
    new Promise<Server>((resolve) => {
      const server = createServer((_req, res) => res.end(JSON.stringify({ ok: true })));
      server.listen(0, "127.0.0.1", () => resolve(server));
    }),
);
const close = noActivity((server: Server) => new Promise<void>((r) => server.close(() => r())));
export async function run() {
  const server = await listen();
  const { port } = server.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}/`);
  const body = await res.json();
  await close(server);
  return { status: res.status, body };
}

/** The files `akts init` writes: a project that `npm install && npm run dev` serves. */

export interface InitOptions {
  /** The package's name, and the manifest's project name (a word). */
  readonly name: string;
  readonly manifestName: string;
  /** How package.json names akts: a `file:` path, a tarball, a git URL. */
  readonly aktsSpec: string;
}

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    types: ["node"],
    skipLibCheck: true,
    noEmit: true,
    plugins: [{ name: "akts/language-service" }],
  },
  include: ["*.ts"],
  exclude: ["*.test.ts"],
};

const HANDLER = `// The project's handlers. Each call to fetch, sleep and nextEvent is journaled: after a crash, the session goes on
// where it stopped (\`akts serve\` resumes it) without doing again what was done.
import { nextEvent, sleep, type ScheduleEvent, type WebhookEvent } from "akts";

/**
 * POST /webhooks/check_url with the JSON body {"url": "..."}: fetches the URL, waits a second, then waits for an
 * "approval" event (\`akts event <session_id> approval --data '{"approved":true}' --manifest autokitteh.yaml\`).
 */
export async function checkUrl(event: WebhookEvent<{ url?: string }>) {
  const { url } = event.data.body.json ?? {};
  if (!url) throw new Error('send {"url": "https://..."} as the JSON body');
  const response = await fetch(url);
  const text = await response.text();
  await sleep(1_000);
  const approval = await nextEvent<{ approved: boolean }>("approval", { timeout: 3_600_000 });
  return { url, status: response.status, length: text.length, approved: approval.approved };
}

/** GET /webhooks/ping: answers at once (a sync webhook), something for checkUrl to fetch. */
export async function ping() {
  return { pong: true };
}

/** Runs on the schedule in autokitteh.yaml. */
export async function hourly(event: ScheduleEvent) {
  return { ran: event.data.scheduled_at };
}
`;

const TEST = `// A unit test of the handler: akts's sleep and nextEvent, and fetch, stand in for the real ones.
import { afterEach, expect, it, vi } from "vitest";
import type { WebhookEvent } from "akts";

vi.mock("akts", () => ({
  sleep: vi.fn(async () => {}),
  nextEvent: vi.fn(async () => ({ approved: true })),
}));

import { checkUrl } from "./handler.js";

const request = (json: { url?: string }): WebhookEvent<{ url?: string }> => ({
  data: {
    body: { json, text: JSON.stringify(json) },
    headers: { "Content-Type": "application/json" },
    trailers: {},
    method: "POST",
    raw_url: "/webhooks/check_url",
    url: { path: "/webhooks/check_url", query: {}, path_suffix: "" },
  },
  event_id: "evt_test",
  event_type: "post",
  session_id: "ses_test",
});

afterEach(() => vi.unstubAllGlobals());

it("fetches the URL and reports the approval", async () => {
  vi.stubGlobal("fetch", vi.fn(async () => new Response("hello", { status: 200 })));
  await expect(checkUrl(request({ url: "https://example.com" }))).resolves.toEqual({ url: "https://example.com", status: 200, length: 5, approved: true });
});

it("refuses a request without a URL", async () => {
  await expect(checkUrl(request({}))).rejects.toThrow("send");
});
`;

function manifest(name: string): string {
  return `# The project's triggers (the manifest format: akts's docs/manifest.md).
version: v1
project:
  name: ${name}
  triggers:
    - name: check_url
      type: webhook
      call: handler.ts:checkUrl
    - name: ping
      type: webhook
      is_sync: true
      is_durable: false
      call: handler.ts:ping
    - name: hourly
      schedule: "0 * * * *"
      call: handler.ts:hourly
`;
}

function packageJson(options: InitOptions): string {
  const pkg = {
    name: options.name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      check: "akts check --manifest autokitteh.yaml",
      dev: "akts serve autokitteh.yaml",
      build: "akts build autokitteh.yaml -o dist",
      test: "vitest run",
    },
    dependencies: { akts: options.aktsSpec },
    devDependencies: { "@types/node": "^20.19.0", typescript: "^6.0.3", vitest: "^4.1.0" },
  };
  return JSON.stringify(pkg, null, 2) + "\n";
}

/** File name → text, in the order they are reported. */
export function initFiles(options: InitOptions): Map<string, string> {
  return new Map([
    ["package.json", packageJson(options)],
    ["tsconfig.json", JSON.stringify(TSCONFIG, null, 2) + "\n"],
    ["autokitteh.yaml", manifest(options.manifestName)],
    ["handler.ts", HANDLER],
    ["handler.test.ts", TEST],
    [".gitignore", "node_modules/\ndist/\n.akts/\n"],
  ]);
}

/**
 * Generates the compile benchmark's project: `files` handler modules of about 100 lines, each calling the
 * packages the fixtures use (@slack/web-api, pg, axios, @octokit/rest, node builtins), with the real type
 * packages reached through a node_modules of links into this repo's, and akts linked as a dependency.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, WORK } from "./lib.mjs";

const LINKED = ["@slack", "@octokit", "@types", "axios", "pg", "pg-types", "pg-protocol", "pg-pool", "pg-connection-string", "pgpass", "postgres-array", "postgres-bytea", "postgres-date", "postgres-interval", "undici-types", "typescript", "ts-patch", "eventemitter3", "p-queue", "p-retry", "p-timeout", "p-finally", "retry", "is-electron", "is-stream", "form-data"];

function handler(i) {
  const n = (k) => `${k}${i}`;
  return `// Generated handler ${i}: syncs a record between Slack, GitHub, Postgres and an HTTP API.
import { readFileSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import axios from "axios";
import pg from "pg";
import { WebClient } from "@slack/web-api";
import { Octokit } from "@octokit/rest";
import { activity } from "akts";

const slack = new WebClient(process.env.SLACK_TOKEN);
const octokit = new Octokit({ auth: process.env.GITHUB_TOKEN });
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });

interface ${n("Item")} {
  id: number;
  title: string;
  labels: string[];
  owner?: string;
  updatedAt: string;
}

interface ${n("Event")} {
  repo: string;
  owner: string;
  channel: string;
  since: string;
  limit?: number;
}

/** Pure helpers: workflow code, not activities. */
function ${n("score")}(item: ${n("Item")}): number {
  let s = item.labels.length * 2;
  if (item.owner) s += 5;
  if (item.title.toLowerCase().includes("urgent")) s += 10;
  return s + (item.id % 7);
}

function ${n("summarize")}(items: ${n("Item")}[]): string {
  const lines = items
    .map((it) => ({ it, s: ${n("score")}(it) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, 10)
    .map(({ it, s }) => \`• #\${it.id} \${it.title} (\${s})\`);
  return lines.join("\\n");
}

const ${n("archive")} = activity(async (items: ${n("Item")}[]) => {
  const file = path.join("/tmp", \`archive-${i}-\${randomUUID()}.json\`);
  writeFileSync(file, JSON.stringify(items));
  return file;
});

export async function ${n("handler")}(event: { body: ${n("Event")} }) {
  const { repo, owner, channel, since } = event.body;
  const limit = event.body.limit ?? 50;
  const config = JSON.parse(readFileSync("config.json", "utf8")) as { team: string };
  const { data: issues } = await octokit.rest.issues.listForRepo({ owner, repo, since, per_page: limit });
  const items: ${n("Item")}[] = issues.map((issue) => ({
    id: issue.number,
    title: issue.title,
    labels: issue.labels.map((l) => (typeof l === "string" ? l : l.name ?? "")),
    owner: issue.assignee?.login,
    updatedAt: issue.updated_at,
  }));
  const client = await pool.connect();
  let stored = 0;
  try {
    await client.query("BEGIN");
    for (const item of items) {
      const res = await client.query("INSERT INTO items (id, title) VALUES ($1, $2) ON CONFLICT DO NOTHING", [item.id, item.title]);
      stored += res.rowCount ?? 0;
    }
    await client.query("COMMIT");
  } finally {
    client.release();
  }
  const { data: status } = await axios.get<{ healthy: boolean }>(\`https://status.example.com/\${config.team}\`);
  if (!status.healthy) {
    await axios.post("https://alerts.example.com/hook", { repo, stored });
  }
  const text = ${n("summarize")}(items);
  const posted = await slack.chat.postMessage({ channel, text: text || "nothing new" });
  const archived = await ${n("archive")}(items);
  const { data: user } = await octokit.rest.users.getByUsername({ username: owner });
  const startedAt = Date.now();
  for (const item of items.filter((it) => ${n("score")}(it) > 12)) {
    await octokit.rest.issues.addLabels({ owner, repo, issue_number: item.id, labels: ["triaged"] });
  }
  return {
    stored,
    posted: posted.ts ?? "",
    archived,
    owner: user.login,
    took: Date.now() - startedAt,
  };
}
`;
}

/** Writes the project (once per size) and returns its folder. */
export function generateProject(files = 500) {
  const dir = path.join(WORK, `project-${files}`);
  // Named after what the project holds: a project written by an older generator is written again.
  const stamp = path.join(dir, ".complete-3");
  if (fs.existsSync(stamp)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const modules = path.join(dir, "node_modules");
  fs.mkdirSync(path.join(dir, "src"), { recursive: true });
  fs.mkdirSync(modules, { recursive: true });
  fs.symlinkSync(ROOT, path.join(modules, "akts"));
  for (const name of LINKED) {
    const target = path.join(ROOT, "node_modules", name);
    if (fs.existsSync(target)) fs.symlinkSync(target, path.join(modules, name));
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench-project", private: true, type: "module" }));
  const compilerOptions = { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"], skipLibCheck: true, rootDir: "src", outDir: "dist" };
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["src"] }, null, 2));
  fs.writeFileSync(path.join(dir, "tsconfig.akts.json"), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { outDir: "dist-akts", plugins: [{ transform: "akts/plugin" }] } }, null, 2));
  // tspc with no plugin: what tspc itself adds to the build, part of row 1's figure but not akts's doing.
  fs.writeFileSync(path.join(dir, "tsconfig.tspc.json"), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { outDir: "dist-tspc" } }, null, 2));
  // tspc with the least possible site search (bench/search-floor-plugin.cjs): the floor under the plugin's cost.
  const floor = path.relative(dir, path.join(ROOT, "bench", "search-floor-plugin.cjs"));
  fs.writeFileSync(path.join(dir, "tsconfig.floor.json"), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { outDir: "dist-floor", plugins: [{ transform: floor }] } }, null, 2));
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, "src", `handler${String(i).padStart(3, "0")}.ts`), handler(i));
  fs.writeFileSync(stamp, "");
  return dir;
}

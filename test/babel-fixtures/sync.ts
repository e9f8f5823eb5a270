// Mirrors users from an HTTP API into Postgres, with a marked helper, an opt-out and timers.
import axios from "axios";
import { Client } from "pg";
import { mkdtempSync, promises as fsp } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { activity, noActivity, sleep } from "akts";

/** @activity */
async function loadPage(page: number): Promise<{ id: number; name: string }[]> {
  const res = await axios.get(`https://api.example.com/users?page=${page}`);
  return res.data;
}

const connect = noActivity(() => new Client({ connectionString: "postgres://localhost/app" }));

class Mirror {
  constructor(private readonly client: Client) {}

  @activity
  async store(users: { id: number; name: string }[]): Promise<number> {
    for (const u of users) await this.client.query("insert into users values ($1, $2)", [u.id, u.name]);
    return users.length;
  }

  async run(pages: number): Promise<number> {
    let total = 0;
    for (let page = 1; page <= pages; page++) {
      const users = await loadPage(page);
      total += await this.store(users);
      await sleep(1000);
    }
    return total;
  }
}

export async function handler(event: { pages: number }) {
  const dir = mkdtempSync(join(os.tmpdir(), "sync-"));
  const mirror = new Mirror(connect());
  const probe = connect();
  await probe.connect();
  const total = await mirror.run(event.pages);
  await fsp.writeFile(join(dir, "total.txt"), String(total));
  await delay(10);
  setTimeout(() => undefined, 5);
  const verbose = process.env.VERBOSE === "1";
  const token = Math.random().toString(36).slice(2);
  return { total, verbose, token, started: new Date() };
}

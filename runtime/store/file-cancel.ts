/**
 * The file store's cancellation requests: `cancel/<session id>`, an empty file per request, in a folder of its
 * own. Asking is one existence check per running session, so a runner polls them cheaply.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDir } from "../journal-file";
import { checkSessionId } from "./store";

export class FileCancels {
  private readonly dir: string;

  constructor(location: string) {
    // Made by the first request, so a store that never cancels keeps its layout.
    this.dir = path.join(location, "cancel");
  }

  async request(id: string): Promise<void> {
    checkSessionId(id);
    const file = path.join(this.dir, id);
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.promises.writeFile(file, "", { mode: 0o600 });
    // Synced: a request acknowledged to the operator is not lost in a power failure.
    const fd = await fs.promises.open(file, "r");
    try {
      await fd.sync();
    } finally {
      await fd.close();
    }
    fsyncDir(this.dir);
  }

  async requested(ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => fs.existsSync(path.join(this.dir, id))));
  }
}

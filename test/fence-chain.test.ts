/**
 * The numbered files the values lock and the `max_concurrent` slots are taken through (runtime/store/fence-chain.ts):
 * no number is ever taken twice, even by a taker that judged from an old listing. Then the values lock itself, under
 * 8 processes adding to one key. Its children load the store from dist/ (`npm test` builds it first).
 */
import { describe, expect, it } from "vitest";
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FenceChain } from "../runtime/store/fence-chain";
import { FileValues } from "../runtime/store/file-values";
import { ROOT, tempDir } from "./helpers";

function chainIn(name: string): { chain: FenceChain; dir: string } {
  const root = tempDir(name);
  const dir = path.join(root, "values");
  for (const d of [dir, path.join(root, "tmp")]) fs.mkdirSync(d);
  return { chain: new FenceChain(dir, "lock.", path.join(root, "tmp")), dir };
}

async function takeInOrder(chain: FenceChain, upTo: number): Promise<void> {
  for (let n = 1; n <= upTo; n++) expect(await chain.take(n, `holder ${n}`)).toBe(true);
}

describe("FenceChain", () => {
  it("of 8 takers racing for one number exactly one wins, and its file is whole", async () => {
    const { chain } = chainIn("chain-race");
    await takeInOrder(chain, 3);
    const won = await Promise.all(Array.from({ length: 8 }, (_, i) => chain.take(4, `taker ${i}`)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(fs.readFileSync(chain.file(4), "utf8")).toBe(`taker ${won.indexOf(true)}`);
  });

  it("keeps the newest two files and removes the rest", async () => {
    const { chain, dir } = chainIn("chain-keep");
    await takeInOrder(chain, 6);
    expect(fs.readdirSync(dir).sort()).toEqual(["lock.5", "lock.6"]);
    expect(await chain.newest()).toBe(6);
  });

  it("a number taken and removed long ago is refused, and its taker's file does not stay", async () => {
    const { chain, dir } = chainIn("chain-stale");
    await takeInOrder(chain, 6);
    // A taker that listed when 3 was newest; 3 and 4 have gone since.
    expect(await chain.take(4, "stale")).toBe(false);
    // One that saw no file at all.
    expect(await chain.take(1, "stale")).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(["lock.5", "lock.6"]);
  });

  it("a stale number whose predecessor a dead taker left behind is refused by the listing", async () => {
    const { chain, dir } = chainIn("chain-leftover");
    await takeInOrder(chain, 6);
    fs.writeFileSync(path.join(dir, "lock.2"), "left by a taker killed before it cleaned up");
    expect(await chain.take(3, "stale")).toBe(false);
    expect(fs.existsSync(chain.file(3))).toBe(false);
  });

  it("newest follows the files past a listing that missed the newest ones", async () => {
    const { chain } = chainIn("chain-follow");
    await takeInOrder(chain, 2);
    expect(await chain.newest([])).toBe(2);
    for (const n of [3, 4]) expect(await chain.take(n, "x")).toBe(true);
    expect(await chain.newest(["lock.3"])).toBe(4);
    expect(await chain.newest(["other", "lock.x", "lock.4"])).toBe(4);
  });

  it("numbers of another prefix in the same folder are not its own", async () => {
    const root = tempDir("chain-prefix");
    fs.mkdirSync(path.join(root, "tmp"));
    const one = new FenceChain(root, "1.", path.join(root, "tmp"));
    const eleven = new FenceChain(root, "11.", path.join(root, "tmp"));
    for (let n = 1; n <= 3; n++) expect(await eleven.take(n, "x")).toBe(true);
    expect(await one.newest()).toBe(0);
    expect(await one.take(1, "y")).toBe(true);
    expect(fs.readdirSync(root).filter((f) => f !== "tmp").sort()).toEqual(["1.1", "11.2", "11.3"]);
  });
});

describe("the file store's values lock", () => {
  it("8 processes adding 100 times each to one key lose no addition and fail none", async () => {
    const root = tempDir("values-hammer");
    fs.mkdirSync(path.join(root, "tmp"));
    const child = path.join(root, "add.cjs");
    fs.writeFileSync(
      child,
      `const { FileValues } = require(${JSON.stringify(path.join(ROOT, "dist/runtime/store/file-values.js"))});
(async () => {
  const values = new FileValues(process.argv[2]);
  for (let i = 0; i < 100; i++) await values.mutateValue("p", "hits", { op: "add", amount: 1 });
})().catch((err) => { console.error(err.message); process.exit(1); });
`,
    );
    const codes = await Promise.all(
      Array.from({ length: 8 }, () => new Promise<number | null>((resolve) => fork(child, [root], { stdio: "inherit" }).on("exit", resolve))),
    );
    expect(codes).toEqual(Array(8).fill(0));
    expect(await new FileValues(root).mutateValue("p", "hits", { op: "get" })).toBe(800);
  });
});

/**
 * The context lookup the stubs make (`currentFrame`) remembers its last answer per async id; it must answer as
 * `storage.getStore()` does everywhere, or a call inside an activity would be journaled again, or a durable
 * session's call pass through unjournaled.
 */
import { expect, test } from "vitest";
import { currentFrame, storage, type Frame } from "../runtime/context";

const frame = (name: string, inActivity = false) => ({ session: { id: name }, inActivity }) as unknown as Frame;

test("the shared storage remembers lookups (else the tests below would not test the remembering)", () => {
  expect("lastId" in storage).toBe(true);
});

test("run entered and left under one async id: each lookup finds the frame run set, then the one before it", () => {
  const outer = frame("outer");
  const inner = frame("inner", true);
  const before = storage.getStore();
  expect(currentFrame()).toBe(before);
  storage.run(outer, () => {
    expect(currentFrame()).toBe(outer);
    expect(currentFrame()).toBe(outer);
    storage.run(inner, () => {
      expect(currentFrame()).toBe(inner);
      expect(currentFrame()).toBe(inner);
    });
    expect(currentFrame()).toBe(outer);
    expect(() => storage.run(inner, () => {
      expect(currentFrame()).toBe(inner);
      throw new Error("left by a throw");
    })).toThrow("left by a throw");
    expect(currentFrame()).toBe(outer);
  });
  expect(currentFrame()).toBe(before);
});

test("interleaved async continuations of two frames each find their own", async () => {
  const seen: string[] = [];
  const walk = (f: Frame) =>
    storage.run(f, async () => {
      for (let i = 0; i < 3; i++) {
        await null;
        seen.push(`${(currentFrame()?.session as unknown as { id: string }).id}=${(storage.getStore()?.session as unknown as { id: string }).id}`);
      }
    });
  await Promise.all([walk(frame("a")), walk(frame("b"))]);
  expect(seen).toEqual(["a=a", "b=b", "a=a", "b=b", "a=a", "b=b"]);
});

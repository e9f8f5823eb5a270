/** A session in this process over an in-memory journal, for the tests of the runtime's own modules (stub, api). */
import { storage } from "../runtime/context";
import { decode, encode } from "../runtime/codec";
import type { JournalSink, SessionState } from "../runtime/session-state";
import type { JournalRecord } from "../runtime/journal";

/** A journal kept in memory; every record is encoded and decoded, as written to and read from a file. */
export function memoryJournal(): JournalSink & { records: JournalRecord[] } {
  const records: JournalRecord[] = [];
  const keep = (r: JournalRecord) => void records.push(decode(encode(r)) as JournalRecord);
  return { records, append: async (r) => keep(r), appendSync: keep };
}

/**
 * Runs `handler` in `state`'s session to its end, as the engine does: its writes settled, a fatal error thrown, the
 * journal replayed whole. The state is closed.
 */
export async function runIn<T>(state: SessionState, handler: () => T | Promise<T>): Promise<{ result: T; state: SessionState }> {
  try {
    const result = await storage.run({ session: state, inActivity: false }, handler);
    await state.settled();
    if (state.fatal) throw state.fatal.error;
    state.assertFullyReplayed();
    return { result, state };
  } finally {
    state.close();
  }
}

/**
 * The groups of runtime modules `npm run mutate` tests, each with the unit-level tests run against its mutants:
 * those that exercise its modules in their own process (tests that drive the CLI run dist/, which a mutant of the
 * sources never reaches).
 */
export const GROUPS = {
  core: {
    mutate: ["runtime/api.ts", "runtime/replay.ts", "runtime/session-state.ts", "runtime/stub.ts"],
    tests: ["test/runtime-engine.test.ts", "test/runtime-replay.test.ts", "test/site-table.test.ts"],
  },
  codec: {
    mutate: ["runtime/codec.ts"],
    tests: ["test/codec.test.ts", "test/journal.test.ts", "test/lazy-record.test.ts"],
  },
  journal: {
    mutate: ["runtime/journal*.ts", "runtime/lazy-record.ts", "runtime/crc.ts"],
    tests: ["test/journal.test.ts", "test/lazy-record.test.ts", "test/crc.test.ts", "test/codec.test.ts"],
  },
  // The file store's lease and fencing code (the rest of the store is I/O plumbing), and who holds a lease.
  store: {
    mutate: ["runtime/store/holder.ts", "runtime/store/file-store.ts:100-110", "runtime/store/file-store.ts:221-300", "runtime/store/file-store.ts:419-495"],
    tests: ["test/file-store.test.ts"],
  },
};

/**
 * The groups of runtime modules `npm run mutate` tests, each with the unit-level tests run against its mutants:
 * those that exercise its modules in their own process (tests that drive the CLI run dist/, which a mutant of the
 * sources never reaches). One module (or a few small ones) per group, so that a run fits beside other work.
 */

export const GROUPS = {
  // The engine's tests take 10 s a run (sessions through the file store, a child process): these two modules have
  // tests of their own, in memory, that run in under a second.
  "session-state": { mutate: ["runtime/session-state.ts"], tests: ["test/session-state.test.ts", "test/stub.test.ts"] },
  stub: { mutate: ["runtime/stub.ts"], tests: ["test/stub.test.ts", "test/site-table.test.ts"] },
  // Sessions over an in-memory journal and inbox, as the two above: the engine's tests (runtime-engine,
  // runtime-replay) go through the file store and take 10 s a run, hours over these modules' mutants.
  api: { mutate: ["runtime/api.ts"], tests: ["test/api.test.ts", "test/stub.test.ts"] },
  replay: { mutate: ["runtime/replay.ts"], tests: ["test/replay.test.ts", "test/session-state.test.ts", "test/stub.test.ts", "test/api.test.ts"] },
  // journal.test.ts is left out here: its damaged-file test alone takes 25 s, and the codec has tests of its own.
  codec: { mutate: ["runtime/codec.ts"], tests: ["test/codec.test.ts", "test/lazy-record.test.ts"] },
  // The codec's projection of results and buffering of responses (its lines 33-160, errors and responses, had a run of their own).
  projection: { mutate: ["runtime/codec.ts:161-655"], tests: ["test/codec.test.ts"] },
  // Small frames decoded through record definitions met before (decodeKnown, decodeAt).
  "codec-known": { mutate: ["runtime/codec.ts:217-326"], tests: ["test/codec.test.ts", "test/lazy-record.test.ts"] },
  // The part of it a run of the group above had not reached: the walks of project() and the buffering of responses.
  "codec-walk": { mutate: ["runtime/codec.ts:357-642"], tests: ["test/codec.test.ts"] },
  // journal.ts holds re-exports only; journal-records.ts types and one function (in journal-file's group).
  // journal.test.ts is left out: it tests the same through files, and its damaged-file test alone takes 25 s;
  // journal-frames.test.ts does it in memory.
  journal: { mutate: ["runtime/journal-frames.ts"], tests: ["test/journal-frames.test.ts", "test/lazy-record.test.ts"] },
  "lazy-record": { mutate: ["runtime/lazy-record.ts", "runtime/crc.ts"], tests: ["test/lazy-record.test.ts", "test/crc.test.ts"] },
  // Reading a whole journal file (a store's migration, `akts replay`); sessions are written to segments, below.
  "journal-file": { mutate: ["runtime/journal-file.ts", "runtime/journal-records.ts"], tests: ["test/journal-file.test.ts"] },
  // The file store's group commit: its own in-process tests (segment-log.test.ts crashes child processes that run dist/).
  "segment-writer": { mutate: ["runtime/store/segment-writer.ts"], tests: ["test/segment-writer.test.ts"] },
  // The file store's segment bytes and their index sidecars: their own tests, on images in memory and small files
  // (segment-sidecar.test.ts and segment-log.test.ts test the same through the store and child processes, seconds a test).
  "segment-format": {
    mutate: ["runtime/store/segment-format.ts", "runtime/store/segment-sidecar.ts"],
    tests: ["test/segment-format.test.ts", "test/segment-writer.test.ts"],
  },
  // The file store's index of its segments (sessions, summaries, a journal across fences and claims, other runners'
  // tails, torn tails, sidecars): its own tests, on segment files written in the test's process (the store's tests
  // through processes, segment-log.test.ts and segment-sidecar.test.ts, take seconds each).
  "segment-index": { mutate: ["runtime/store/segment-index.ts"], tests: ["test/segment-index.test.ts"] },
  // The file store's lease and fencing code (the rest of the store is I/O plumbing), and who holds a lease.
  // Its own tests only: the store contract's (file-store.test.ts) start processes that run dist/, and take seconds each.
  // The file store's own part of it is claim() to dropped() (takeover leases, the fencing check, the heartbeat): move
  // the range with the code.
  lease: {
    mutate: ["runtime/store/holder.ts", "runtime/store/file-lease.ts", "runtime/store/file-store.ts:267-390"],
    tests: ["test/lease.test.ts"],
  },
  // The PostgreSQL store's leases and fencing (claim, the fence of status writes and releases, the heartbeat), through
  // the Store interface, from the sources; one private server for the run. Its appends are fenced by the writer
  // thread (pg-writer-thread.ts), which runs dist/: tested in pg-store.test.ts.
  // The ranges are claim() to lostError() and the lease class (the rest of the file is queries and events): move
  // them with the code.
  "pg-fencing": {
    mutate: ["runtime/store/pg-store.ts:263-345", "runtime/store/pg-store.ts:567-667"],
    tests: ["test/pg-fencing.test.ts"],
    globalSetup: ["test/pg-global-setup.ts"],
  },
};

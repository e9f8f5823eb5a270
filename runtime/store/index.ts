/** Stores: the interface, the embedded file store, and how commands open one (the PostgreSQL store loads on demand). */
export * from "./store";
export { sessionJson, type SessionJson } from "./session-json";
export { FileStore, type FileStoreOptions } from "./file-store";
export { isDatabaseStore, leaseTtlMs, openFileStore, openStore, storeLocation, STORE_DIR, type OpenStoreOptions } from "./open";
export type { PgStore, PgStoreOptions } from "./pg-store";

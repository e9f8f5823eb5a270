/** The store a command works on: named by `--store` (a folder or a postgres:// URL), opened and closed around it. */
import { openStore, type OpenStoreOptions, type Store } from "../runtime/store";

export const STORE_OPTION = { store: ["--store"] } as const;

/** Opens the store, runs `use`, and closes the store (its leases, timers and connections) whatever happens. */
export async function withStore<T>(options: OpenStoreOptions, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(options);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

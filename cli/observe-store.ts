/**
 * A store that tells what goes through it: sessions created and claimed, journal records appended, statuses
 * set, events waited for. `akts run --verbose` and `akts serve`'s session lines watch sessions this way, without
 * the engine knowing it is watched.
 */
import type { HeaderRecord, JournalRecord } from "../runtime/journal";
import type { Inbox, Waiter } from "../runtime/session-state";
import type { SessionLease, SessionStatus, StatusExtra, Store } from "../runtime/store";

export interface StoreObserver {
  created?(header: HeaderRecord): void;
  claimed?(sessionId: string): void;
  appended?(sessionId: string, record: JournalRecord): void;
  status?(sessionId: string, status: SessionStatus, extra: StatusExtra | undefined): void;
  /** The session waits in `nextEvent(name)` (or `nextSignal`, for the event names of its signals). */
  waiting?(sessionId: string, name: string | readonly string[]): void;
}

/** `target` with the members in `replace` replaced; every other member passes through, bound to `target`. */
function overriding<T extends object>(target: T, replace: Partial<T>): T {
  // Bound once per method, not on every call (the engine calls the lease's methods at every step).
  const bound = new Map<PropertyKey, { fn: (...args: unknown[]) => unknown; bound: unknown }>();
  return new Proxy(target, {
    get(t, key) {
      if (key in replace) return replace[key as keyof T];
      const value = Reflect.get(t, key, t) as unknown;
      if (typeof value !== "function") return value;
      let known = bound.get(key);
      if (known?.fn !== value) bound.set(key, (known = { fn: value as (...args: unknown[]) => unknown, bound: value.bind(t) }));
      return known.bound;
    },
  });
}

function observeLease(lease: SessionLease, observer: StoreObserver): SessionLease {
  return overriding(lease, {
    finish: (end: JournalRecord, status: SessionStatus, extra?: StatusExtra, durable?: () => void) => {
      observer.appended?.(lease.id, end);
      observer.status?.(lease.id, status, extra);
      return lease.finish(end, status, extra, durable);
    },
    append: (record: JournalRecord) => {
      observer.appended?.(lease.id, record);
      return lease.append(record);
    },
    appendSync: (record: JournalRecord) => {
      observer.appended?.(lease.id, record);
      lease.appendSync(record);
    },
    // Only where the lease has it: a session without it appends through `append` above.
    ...(lease.appendThen && {
      appendThen: (record: JournalRecord, waiter: Waiter) => {
        observer.appended?.(lease.id, record);
        lease.appendThen!(record, waiter);
      },
    }),
    setStatus: (status: SessionStatus, extra?: StatusExtra) => {
      observer.status?.(lease.id, status, extra);
      return lease.setStatus(status, extra);
    },
  });
}

export function observeStore(store: Store, observer: StoreObserver): Store {
  return overriding(store, {
    // No async layer of its own: one `then` between the store's create and the engine.
    create: (...args: Parameters<Store["create"]>) =>
      store.create(...args).then((lease) => {
        observer.created?.(args[0]);
        return observeLease(lease, observer);
      }),
    claim: async (id: string, runner: string) => {
      const lease = await store.claim(id, runner);
      if (!lease) return undefined;
      observer.claimed?.(id);
      return observeLease(lease, observer);
    },
    // Every session gets an inbox: a plain object of its two methods costs less than a proxy.
    inbox: (id: string, consumed: ReadonlySet<string>): Inbox => {
      const inbox = store.inbox(id, consumed);
      return {
        take: (name, deadline) => {
          observer.waiting?.(id, name);
          return inbox.take(name, deadline);
        },
        consumed: (eventId) => inbox.consumed(eventId),
      };
    },
  });
}

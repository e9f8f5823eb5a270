/** akts's runtime API for handlers. Compiled call sites use `akts/stub` (stub.ts) instead. */
export { activity, noActivity, sleep, nextEvent, session, type SessionView, type NextEventOptions } from "./api";
export type { ActivityOptions, Backoff } from "./retry";
export type { WebhookEvent } from "./server/event";
export type { ScheduleEvent } from "./server/schedules";
export {
  NondeterminismError,
  JournalCorruptError,
  UnserializableResultError,
  EventTimeoutError,
  StaleLeaseError,
  CancelledError,
  FatalError,
  RetryableError,
  ActivityTimeoutError,
} from "./errors";

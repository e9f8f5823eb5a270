/** akts's runtime API for handlers. Compiled call sites use `akts/stub` (stub.ts) instead. */
export { activity, noActivity, sleep, nextEvent, session, type SessionView, type NextEventOptions } from "./api";
export { patched, deprecatePatch } from "./patch";
export { start } from "./start";
export { signal, nextSignal, type Signal, type NextSignalOptions } from "./signals";
export { getValue, setValue, mutateValue, checkAndSetValue, addValues, delValue, listValuesKeys, type ValueOperation } from "./values-api";
export type { ActivityOptions, Backoff } from "./retry";
export { httpOutcome, outcome, type HttpOutcomeOptions } from "./outcome";
export type { Event, WebhookData, ScheduleData, WebhookEvent, ScheduleEvent } from "./event";
export {
  NondeterminismError,
  JournalCorruptError,
  UnserializableResultError,
  EventTimeoutError,
  StaleLeaseError,
  HttpOutcomeError,
  OutcomeSetError,
  OutcomeContextError,
  CancelledError,
  FatalError,
  RetryableError,
  ActivityTimeoutError,
} from "./errors";

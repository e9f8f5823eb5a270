/** akts's runtime API for handlers. Compiled call sites use `akts/stub` (stub.ts) instead. */
export { activity, noActivity, sleep, nextEvent, session, type SessionView, type NextEventOptions } from "./api";
export { start } from "./start";
export { signal, nextSignal, type Signal, type NextSignalOptions } from "./signals";
export { getValue, setValue, mutateValue, checkAndSetValue, addValues, delValue, listValuesKeys, type ValueOperation } from "./values-api";
export type { ActivityOptions } from "./stub";
export type { WebhookEvent } from "./server/event";
export type { ScheduleEvent } from "./server/schedules";
export { NondeterminismError, JournalCorruptError, UnserializableResultError, EventTimeoutError, StaleLeaseError } from "./errors";

/**
 * The journal: record types (journal-records.ts), the frame codec (journal-frames.ts) and journal files
 * (journal-file.ts), exported together for the rest of the runtime.
 */
export * from "./journal-records";
export * from "./journal-frames";
export * from "./journal-file";

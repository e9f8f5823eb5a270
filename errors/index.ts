export * from "./codes";
export * from "./location";
export * from "./error";

// observability: structured logger, instrumentation events (diagnostics_channel),
// Prometheus metrics and the admin server. Imports nothing upstream but routing/ and endpoints/ types.
export * from "./logger.ts";
export * from "./events.ts";
export * from "./metrics.ts";
export * from "./metric-definitions.ts";
export * from "./admin-server.ts";

// observability: structured logger, instrumentation events (diagnostics_channel),
// Prometheus metrics and the admin server. Only the admin server imports routing/ and endpoints/.
export * from "./logger.ts";
export * from "./events.ts";
export * from "./metrics.ts";
export * from "./metric-definitions.ts";
export * from "./admin-server.ts";

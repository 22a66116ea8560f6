// reconcile: throttled rebuild loop (hold-off, cost-proportional pause), sync gate, publish, diagnostic reporting.
// May import store/, translate/, routing/, endpoints/, observability/.
export * from "./reconciler.ts";
export * from "./diagnostic-reporter.ts";
export * from "./timers.ts";

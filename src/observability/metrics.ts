// Prometheus metrics: a prom-client registry of its own, fed by the turnout:*
// diagnostics channels, plus gauges read from callbacks at scrape time.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Aggregator } from "prom-client";
import { subscribe } from "./events.ts";
import type { RebuildResult, TurnoutEventName, TurnoutEvents, UpstreamErrorKind } from "./events.ts";
import { METRIC_DEFINITIONS } from "./metric-definitions.ts";
import { labelValue, nonNegative } from "./metric-labels.ts";
import { RequestMetrics } from "./request-metrics.ts";

export type EndpointState = "healthy" | "unhealthy" | "ejected" | "terminating";

export interface EndpointStateCount {
  /** Backend key (`namespace/service:port`), as in the other metrics' `service` label. */
  service: string;
  state: EndpointState;
  count: number;
}

export interface MetricsOptions {
  /** Endpoint counts per backend and state, read at every scrape. */
  collectEndpoints?: () => Iterable<EndpointStateCount>;
  /** The active translation diagnostics (only `reason` is read), at every scrape. */
  collectDiagnostics?: () => Iterable<{ reason: string }>;
  /** Node process metrics (CPU, memory, event loop, GC); default true. */
  defaultMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
  /** Content-Type of `render()`'s text. */
  contentType: string;
  /** The exposition text for a scrape. */
  render(): Promise<string>;
  /** Stops listening to the channels; the registry stays readable. */
  close(): void;
}

const ENDPOINT_STATES: ReadonlySet<string> = new Set<EndpointState>(["healthy", "unhealthy", "ejected", "terminating"]);
const UPSTREAM_ERROR_KINDS: ReadonlySet<string> = new Set<UpstreamErrorKind>(["connect", "reset", "timeout", "protocol"]);
const REBUILD_RESULTS: readonly RebuildResult[] = ["published", "unchanged", "error"];
const LISTENERS = ["http", "https"] as const;

/**
 * The one place a registry is made. With --workers > 1 every process keeps its own
 * and the primary merges them at scrape time (aggregateMetrics); the metric
 * definitions carry the aggregator each metric is merged with.
 */
export function createRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** One process's metrics as prom-client JSON (`registry.getMetricsAsJSON()`): what a worker sends the primary. */
export type MetricsSnapshot = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/**
 * The exposition text of several processes' metrics, each metric merged across them by
 * its aggregator (default: sum), per label set: prom-client's AggregatorRegistry.aggregate.
 * For a `first` metric the earliest snapshot holding that label set wins.
 */
export function aggregateMetrics(snapshots: readonly MetricsSnapshot[]): Promise<string> {
  return AggregatorRegistry.aggregate<typeof Registry.PROMETHEUS_CONTENT_TYPE>([...snapshots]).metrics();
}

interface Definition<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  aggregator?: Aggregator;
}

function counter<L extends string>(registry: Registry, d: Definition<L>): Counter<L> {
  return new Counter({ name: d.name, help: d.help, labelNames: d.labelNames, registers: [registry], ...(d.aggregator ? { aggregator: d.aggregator } : {}) });
}

function gauge<L extends string>(registry: Registry, d: Definition<L>, collect?: (this: Gauge<L>) => void): Gauge<L> {
  return new Gauge({
    name: d.name,
    help: d.help,
    labelNames: d.labelNames,
    registers: [registry],
    ...(d.aggregator ? { aggregator: d.aggregator } : {}),
    ...(collect ? { collect } : {}),
  });
}

function histogram<L extends string>(registry: Registry, d: Definition<L> & { buckets: readonly number[] }): Histogram<L> {
  return new Histogram({ name: d.name, help: d.help, labelNames: d.labelNames, buckets: [...d.buckets], registers: [registry] });
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = createRegistry({ defaultMetrics: options.defaultMetrics ?? true });
  const d = METRIC_DEFINITIONS;

  // Per request, the hottest: plain cells that prom-client reads at scrape time.
  const requestMetrics = new RequestMetrics(registry);
  const activeConnections = gauge(registry, d.activeConnections);
  const upstreamErrors = counter(registry, d.upstreamErrors);
  const retries = counter(registry, d.retries);
  const { collectEndpoints, collectDiagnostics } = options;
  gauge(registry, d.endpoints, function () {
    this.reset();
    if (!collectEndpoints) return;
    for (const entry of collectEndpoints()) {
      const count = nonNegative(entry.count);
      if (count === undefined || !ENDPOINT_STATES.has(entry.state)) continue;
      this.inc({ service: labelValue(entry.service), state: entry.state }, count);
    }
  });
  const ejections = counter(registry, d.ejections);
  const panics = counter(registry, d.panics);
  const configGeneration = gauge(registry, d.configGeneration);
  const reloads = counter(registry, d.reloads);
  const rebuildDuration = histogram(registry, d.rebuildDuration);
  const routes = gauge(registry, d.routes);
  const backends = gauge(registry, d.backends);
  const applyLatency = histogram(registry, d.applyLatency);
  const watchRestarts = counter(registry, d.watchRestarts);
  const workerRestarts = counter(registry, d.workerRestarts);
  const apiserverErrors = counter(registry, d.apiserverErrors);
  const lastSync = gauge(registry, d.lastSync);
  gauge(registry, d.diagnostics, function () {
    this.reset();
    if (!collectDiagnostics) return;
    for (const diagnostic of collectDiagnostics()) this.inc({ reason: labelValue(diagnostic.reason) });
  });

  // Series that exist before their first event, so rate() and absent() behave from the start.
  for (const result of REBUILD_RESULTS) reloads.inc({ result }, 0);
  for (const listener of LISTENERS) activeConnections.set({ listener }, 0);

  const connections = new Map<string, number>(LISTENERS.map((l) => [l, 0]));
  let lastSyncSeconds = 0;

  const unsubscribers = [
    on("turnout:request:end", (e) => requestMetrics.record(e)),
    on("turnout:upstream:attempt", (e) => {
      if (e.outcome !== "ok" && UPSTREAM_ERROR_KINDS.has(e.outcome)) upstreamErrors.inc({ service: labelValue(e.service), kind: e.outcome });
    }),
    on("turnout:retry", (e) => retries.inc({ service: labelValue(e.service) })),
    on("turnout:ejection", (e) => ejections.inc({ service: labelValue(e.service) })),
    on("turnout:panic", (e) => panics.inc({ service: labelValue(e.service) })),
    on("turnout:connection", (e) => {
      const open = connections.get(e.listener);
      if (open === undefined) return;
      // Connections opened before these metrics existed may close afterwards: never below zero.
      const next = e.state === "open" ? open + 1 : Math.max(0, open - 1);
      connections.set(e.listener, next);
      activeConnections.set({ listener: e.listener }, next);
    }),
    on("turnout:rebuild", (e) => {
      if (!REBUILD_RESULTS.includes(e.result)) return;
      reloads.inc({ result: e.result });
      const duration = nonNegative(e.durationSeconds);
      if (duration !== undefined) rebuildDuration.observe(duration);
      if (e.result === "error") return;
      setIfValid(configGeneration, e.generation);
      setIfValid(routes, e.routes);
      setIfValid(backends, e.backends);
      const latency = nonNegative(e.applyLatencySeconds);
      if (e.result === "published" && latency !== undefined) applyLatency.observe(latency);
    }),
    on("turnout:watch:restart", (e) => watchRestarts.inc({ resource: labelValue(e.resource) })),
    on("turnout:api:error", (e) => apiserverErrors.inc({ resource: labelValue(e.resource) })),
    on("turnout:worker:exit", () => workerRestarts.inc()),
    on("turnout:sync", (e) => {
      const at = nonNegative(e.timestampSeconds);
      if (at === undefined || at <= lastSyncSeconds) return;
      lastSyncSeconds = at;
      lastSync.set(at);
    }),
  ];

  let closed = false;
  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: () => {
      if (closed) return;
      closed = true;
      for (const unsubscribe of unsubscribers) unsubscribe();
    },
  };
}

/**
 * Subscribes a handler that cannot crash the process: Node rethrows a channel
 * handler's exception as uncaught, and a metric is not worth a restart.
 */
function on<K extends TurnoutEventName>(name: K, handler: (event: TurnoutEvents[K]) => void): () => void {
  return subscribe(name, (event) => {
    if (typeof event !== "object" || event === null) return;
    try {
      handler(event);
    } catch (error) {
      process.emitWarning(`metrics: dropped a ${name} event: ${error instanceof Error ? error.message : String(error)}`, "TurnoutMetricsWarning");
    }
  });
}

function setIfValid(target: Gauge, value: unknown): void {
  const checked = nonNegative(value);
  if (checked !== undefined) target.set(checked);
}

// The catalogue of turnout's own metrics as data: name, type, labels, help and
// buckets. metrics.ts instantiates it; docs/metrics.md is tested against it.
import type { Aggregator } from "prom-client";

export type MetricKind = "counter" | "gauge" | "histogram";

export interface MetricDefinition {
  name: string;
  type: MetricKind;
  help: string;
  labelNames: readonly string[];
  buckets?: readonly number[];
  /** How a multi-process AggregatorRegistry merges workers' values (prom-client default: sum). */
  aggregator?: Aggregator;
}

/** Request latencies: 5 ms to 10 s. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Route-table rebuilds: 1 ms to 5 s. */
export const REBUILD_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;
/** Change-to-serving latency: a lone change takes a few ms (5 ms hold-off plus the rebuild); bursts up to the 500 ms pause and more. */
export const APPLY_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

const ROUTE_LABELS = ["namespace", "ingress", "service"] as const;

export const METRIC_DEFINITIONS = {
  requests: {
    name: "turnout_requests_total",
    type: "counter",
    help: "Client requests answered, by matched Ingress, backend, method and status code.",
    labelNames: [...ROUTE_LABELS, "method", "code"],
  },
  requestDuration: {
    name: "turnout_request_duration_seconds",
    type: "histogram",
    help: "Time from a request's arrival to the end of its response.",
    labelNames: [...ROUTE_LABELS, "method"],
    buckets: HTTP_BUCKETS,
  },
  upstreamDuration: {
    name: "turnout_upstream_response_duration_seconds",
    type: "histogram",
    help: "Time from sending a request to a backend to receiving its response head.",
    labelNames: ROUTE_LABELS,
    buckets: HTTP_BUCKETS,
  },
  requestBytes: {
    name: "turnout_request_bytes_total",
    type: "counter",
    help: "Bytes received from clients.",
    labelNames: ROUTE_LABELS,
  },
  responseBytes: {
    name: "turnout_response_bytes_total",
    type: "counter",
    help: "Bytes sent to clients.",
    labelNames: ROUTE_LABELS,
  },
  activeConnections: {
    name: "turnout_active_connections",
    type: "gauge",
    help: "Open client connections per listener.",
    labelNames: ["listener"],
  },
  upstreamErrors: {
    name: "turnout_upstream_errors_total",
    type: "counter",
    help: "Failed attempts to get a response from a backend endpoint, by kind of failure.",
    labelNames: ["service", "kind"],
  },
  retries: {
    name: "turnout_retries_total",
    type: "counter",
    help: "Requests retried on another endpoint after a failed attempt.",
    labelNames: ["service"],
  },
  endpoints: {
    name: "turnout_endpoints",
    type: "gauge",
    help: "Endpoints per backend by state, at scrape time.",
    labelNames: ["service", "state"],
    aggregator: "first",
  },
  ejections: {
    name: "turnout_endpoint_ejections_total",
    type: "counter",
    help: "Endpoints ejected by passive outlier detection.",
    labelNames: ["service"],
  },
  panics: {
    name: "turnout_panic_mode_total",
    type: "counter",
    help: "Times a backend entered panic mode (too few healthy endpoints; load spread over all).",
    labelNames: ["service"],
  },
  configGeneration: {
    name: "turnout_config_generation",
    type: "gauge",
    help: "Generation of the route table being served.",
    labelNames: [],
    aggregator: "max",
  },
  reloads: {
    name: "turnout_reloads_total",
    type: "counter",
    help: "Route-table rebuilds by result (published, unchanged, error).",
    labelNames: ["result"],
  },
  rebuildDuration: {
    name: "turnout_rebuild_duration_seconds",
    type: "histogram",
    help: "Time to translate the cluster objects into a route table.",
    labelNames: [],
    buckets: REBUILD_BUCKETS,
  },
  routes: {
    name: "turnout_routes",
    type: "gauge",
    help: "Route groups in the served route table.",
    labelNames: [],
    aggregator: "max",
  },
  backends: {
    name: "turnout_backends",
    type: "gauge",
    help: "Backends (Service ports) the served route table refers to.",
    labelNames: [],
    aggregator: "max",
  },
  applyLatency: {
    name: "turnout_config_apply_latency_seconds",
    type: "histogram",
    help: "Time from seeing an object change to serving the route table that includes it.",
    labelNames: [],
    buckets: APPLY_LATENCY_BUCKETS,
  },
  watchRestarts: {
    name: "turnout_watch_restarts_total",
    type: "counter",
    help: "Informer restarts after a list or watch error, by resource.",
    labelNames: ["resource"],
  },
  workerRestarts: {
    name: "turnout_worker_restarts_total",
    type: "counter",
    help: "Proxy worker processes that exited unexpectedly and were restarted.",
    labelNames: [],
  },
  apiserverErrors: {
    name: "turnout_apiserver_errors_total",
    type: "counter",
    help: "Failed Kubernetes API calls, by resource.",
    labelNames: ["resource"],
  },
  lastSync: {
    name: "turnout_last_sync_timestamp_seconds",
    type: "gauge",
    help: "Unix time of the latest successful list or watch (re)connection of any informer.",
    labelNames: [],
    aggregator: "max",
  },
  diagnostics: {
    name: "turnout_diagnostics",
    type: "gauge",
    help: "Active translation diagnostics by reason, at scrape time.",
    labelNames: ["reason"],
    aggregator: "first",
  },
} as const satisfies Record<string, MetricDefinition>;

// The per-request metrics (requests, durations, bytes) as plain cells: one
// request end finds its route's cells through a few map lookups on the label
// strings it already has, and adds numbers. No label object or key string is
// made per request; prom-client reads the cells at scrape time.
import type { Registry } from "prom-client";
import { AccumulatedCounter, AccumulatedHistogram, CounterCells, HistogramCells } from "./accumulated-metrics.ts";
import type { CounterCell, HistogramCell } from "./accumulated-metrics.ts";
import type { RequestEndEvent } from "./events.ts";
import { METRIC_DEFINITIONS } from "./metric-definitions.ts";
import { labelValue, nonNegative, normaliseMethod, statusLabel } from "./metric-labels.ts";

type RouteLabels = { namespace: string; ingress: string; service: string };

/** The cells one (route, method) pair writes. */
interface MethodSeries {
  labels: RouteLabels & { method: string };
  /** By status label. */
  requestsByCode: Map<string, CounterCell>;
  duration: HistogramCell | undefined;
}

/** The cells one route writes, made on first use as prom-client makes series. */
interface RouteSeries {
  labels: RouteLabels;
  byMethod: Map<string, MethodSeries>;
  upstream: HistogramCell | undefined;
  bytesIn: CounterCell | undefined;
  bytesOut: CounterCell | undefined;
}

export class RequestMetrics {
  readonly #requests = new CounterCells();
  readonly #duration: HistogramCells;
  readonly #upstream: HistogramCells;
  readonly #bytesIn = new CounterCells();
  readonly #bytesOut = new CounterCells();
  /** service -> ingress -> namespace -> series: keyed by the label strings themselves. */
  readonly #routes = new Map<string, Map<string, Map<string, RouteSeries>>>();

  /** Registers the five request metrics in `registry`, read from this object's cells. */
  constructor(registry: Registry) {
    const d = METRIC_DEFINITIONS;
    this.#duration = new HistogramCells(d.requestDuration.name, d.requestDuration.buckets);
    this.#upstream = new HistogramCells(d.upstreamDuration.name, d.upstreamDuration.buckets);
    new AccumulatedCounter(registry, d.requests, this.#requests);
    new AccumulatedHistogram(registry, d.requestDuration, this.#duration);
    new AccumulatedHistogram(registry, d.upstreamDuration, this.#upstream);
    new AccumulatedCounter(registry, d.requestBytes, this.#bytesIn);
    new AccumulatedCounter(registry, d.responseBytes, this.#bytesOut);
  }

  /** Counts one request end; fields that are not what the event type says are sanitised as labels and amounts are. */
  record(e: RequestEndEvent): void {
    const route = this.#route(labelValue(e.namespace), labelValue(e.ingress), labelValue(e.service));
    const series = this.#method(route, normaliseMethod(e.method));
    const code = statusLabel(e.code);
    let requests = series.requestsByCode.get(code);
    if (requests === undefined) {
      requests = this.#requests.create({ ...series.labels, code });
      series.requestsByCode.set(code, requests);
    }
    requests.value += 1;
    const duration = nonNegative(e.durationSeconds);
    if (duration !== undefined) (series.duration ??= this.#duration.create(series.labels)).observe(duration);
    const upstream = nonNegative(e.upstreamSeconds);
    if (upstream !== undefined) (route.upstream ??= this.#upstream.create(route.labels)).observe(upstream);
    const bytesIn = nonNegative(e.bytesIn);
    if (bytesIn) (route.bytesIn ??= this.#bytesIn.create(route.labels)).value += bytesIn;
    const bytesOut = nonNegative(e.bytesOut);
    if (bytesOut) (route.bytesOut ??= this.#bytesOut.create(route.labels)).value += bytesOut;
  }

  #route(namespace: string, ingress: string, service: string): RouteSeries {
    let byIngress = this.#routes.get(service);
    if (byIngress === undefined) this.#routes.set(service, (byIngress = new Map<string, Map<string, RouteSeries>>()));
    let byNamespace = byIngress.get(ingress);
    if (byNamespace === undefined) byIngress.set(ingress, (byNamespace = new Map<string, RouteSeries>()));
    let route = byNamespace.get(namespace);
    if (route === undefined) {
      route = { labels: { namespace, ingress, service }, byMethod: new Map(), upstream: undefined, bytesIn: undefined, bytesOut: undefined };
      byNamespace.set(namespace, route);
    }
    return route;
  }

  #method(route: RouteSeries, method: string): MethodSeries {
    let series = route.byMethod.get(method);
    if (series === undefined) {
      series = { labels: { ...route.labels, method }, requestsByCode: new Map(), duration: undefined };
      route.byMethod.set(method, series);
    }
    return series;
  }
}

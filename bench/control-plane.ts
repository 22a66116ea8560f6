// Control-plane benchmark: with N Ingresses loaded, the cost of a full route
// rebuild versus one EndpointSlice change (which must not rebuild routes), and
// route lookup time as the table grows, in this process (no I/O). Returns figures.
// Lookups of every size are measured last, in interleaved passes: a single
// measurement of the 10-Ingress reference could come out twice as slow (once
// 0.32 against the usual 0.17 us), which alone decided the verdict.
import { ClusterStore } from "../src/store/index.ts";
import type { EndpointSlice, Ingress, Service, TranslateSettings } from "../src/store/index.ts";
import { EndpointRegistry } from "../src/endpoints/endpoint-registry.ts";
import { RouteTableHolder } from "../src/routing/published-table.ts";
import { matchRoute, routeRequestFromHttp } from "../src/routing/index.ts";
import type { RouteRequest, RouteTable } from "../src/routing/index.ts";
import { Reconciler, DiagnosticReporter } from "../src/reconcile/index.ts";
import { buildRouteTable } from "../src/translate/index.ts";
import { createLogger } from "../src/observability/logger.ts";
import { median } from "./report.ts";

/** Passes over every table size when measuring lookups; each size's figure is the median of its passes. */
const LOOKUP_PASSES = 5;

const settings: TranslateSettings = { ingressClass: "turnout", controllerName: "turnout.dev/ingress-controller", watchIngressWithoutClass: true };
const meta = (namespace: string, name: string, labels: Record<string, string> = {}) => ({
  namespace, name, uid: `${namespace}-${name}`, resourceVersion: "1", generation: 1, creationTimestamp: "2026-01-01T00:00:00Z", labels, annotations: {},
});

function ingressOf(i: number): Ingress {
  return {
    kind: "Ingress", meta: meta(`ns${i % 50}`, `app${i}`), tls: [], status: [],
    rules: [{ host: `app${i}.example.com`, paths: [
      { path: "/", pathType: "Prefix", backend: { service: { name: `svc${i}`, port: { number: 80 } } } },
      { path: "/api", pathType: "Prefix", backend: { service: { name: `svc${i}`, port: { name: "http" } } } },
    ] }],
  };
}
function serviceOf(i: number): Service {
  return { kind: "Service", meta: meta(`ns${i % 50}`, `svc${i}`), type: "ClusterIP", ports: [{ name: "http", port: 80, protocol: "TCP" }], loadBalancerIngress: [] };
}
function sliceOf(i: number, endpoints: number, generation = 0): EndpointSlice {
  return {
    kind: "EndpointSlice", meta: { ...meta(`ns${i % 50}`, `svc${i}-abc`, { "kubernetes.io/service-name": `svc${i}` }), resourceVersion: `${generation}` },
    serviceName: `svc${i}`, addressType: "IPv4", ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: Array.from({ length: endpoints }, (_, e) => ({
      addresses: [`10.${(i >> 8) & 255}.${i & 255}.${(e + generation) % 250}`], conditions: { ready: true, serving: true, terminating: false },
    })),
  };
}

function time(fn: () => void, minMs = 300, maxRuns = 200): number {
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < maxRuns && (performance.now() - started < minMs || samples.length < 3)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? 0;
}

export interface ControlPlaneRow {
  ingresses: number;
  /** Translation of everything, nothing reused (a restart, or an IngressClass change). */
  rebuildMs: number;
  /** One Ingress edited, then the reconciler's rebuild: translation reusing the rest, comparison, publish. */
  ingressEditMs: number;
  endpointChangeMs: number;
  /** Requests spread over every host (up to 1,000 distinct ones). */
  lookupUs: number;
  /** Requests spread over 10 hosts only: the table's size without the traffic's spread. */
  lookupHotUs: number;
  /** Heap after loading (tables of the smaller sizes are still held, for the lookup passes). */
  heapMb: number;
}

/** Microseconds per lookup of `requests` in `table`. */
function lookupUs(table: RouteTable, requests: readonly RouteRequest[]): number {
  return (time(() => { for (const r of requests) matchRoute(table, r, Math.random); }, 150) / requests.length) * 1000;
}

/** 1,000 requests for /api/users/42, spread over the first `hosts` hosts. */
function requestsOver(hosts: number): RouteRequest[] {
  return Array.from({ length: 1000 }, (_, k) => routeRequestFromHttp({ host: `app${(k * 7919) % hosts}.example.com`, url: "/api/users/42?x=1", headers: {} }));
}

/** With each count of Ingresses loaded: full rebuild, one endpoint change and lookup times, and the heap. */
export function measureControlPlane(ingressCounts: readonly number[]): ControlPlaneRow[] {
  const silent = createLogger({ level: "error", write: () => {} });
  const rows: ControlPlaneRow[] = [];
  const lookups: { table: RouteTable; spread: RouteRequest[]; hot: RouteRequest[] }[] = [];
  for (const count of ingressCounts) {
    const store = new ClusterStore();
    const registry = new EndpointRegistry();
    const holder = new RouteTableHolder();
    const reconciler = new Reconciler({ store, registry, holder, settings, logger: silent, diagnostics: new DiagnosticReporter({ logger: silent }) });
    for (let i = 0; i < count; i++) {
      store.upsert(serviceOf(i));
      store.upsert(sliceOf(i, 5));
      store.upsert(ingressOf(i));
    }
    reconciler.markSynced();
    const rebuildMs = time(() => buildRouteTable(store.snapshot(settings, new Map())));
    let edits = 0;
    const ingressEditMs = time(() => {
      const edited = ingressOf(edits % count);
      edits += 1;
      store.upsert({ ...edited, meta: { ...edited.meta, resourceVersion: `edit-${edits}` }, rules: edits % 2 === 0 ? edited.rules : edited.rules.map((r) => ({ ...r, paths: r.paths.slice(0, 1) })) });
      reconciler.rebuildNow();
    });
    const backend = holder.current!.table.backends[0]!;
    let generation = 1;
    const endpointChangeMs = time(() => {
      store.upsert(sliceOf(0, 5, generation++));
      registry.endpointSet(backend);
    }, 300, 2000);
    lookups.push({ table: holder.current!.table, spread: requestsOver(count), hot: requestsOver(Math.min(count, 10)) });
    rows.push({ ingresses: count, rebuildMs, ingressEditMs, endpointChangeMs, lookupUs: Number.NaN, lookupHotUs: Number.NaN, heapMb: process.memoryUsage().heapUsed / 1e6 });
    reconciler.stop();
  }
  const spread = lookups.map((): number[] => []);
  const hot = lookups.map((): number[] => []);
  for (let pass = 0; pass < LOOKUP_PASSES; pass++) {
    lookups.forEach((l, i) => {
      spread[i]?.push(lookupUs(l.table, l.spread));
      hot[i]?.push(lookupUs(l.table, l.hot));
    });
  }
  return rows.map((row, i) => ({ ...row, lookupUs: median(spread[i] ?? []), lookupHotUs: median(hot[i] ?? []) }));
}

// Reconciler: nothing before sync, bursts coalesced, identical tables not
// republished, endpoint churn never rebuilding routes (with an injected clock).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClusterStore } from "../store/cluster-store.ts";
import type { EndpointSlice, Ingress, Service } from "../store/objects.ts";
import { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import { RouteTableHolder } from "../routing/published-table.ts";
import { createLogger } from "../observability/logger.ts";
import { DiagnosticReporter } from "./diagnostic-reporter.ts";
import { Reconciler } from "./reconciler.ts";
import type { Timers } from "./reconciler.ts";

/** Timers driven by the test: `advance(ms)` runs what is due. */
class FakeTimers implements Timers {
  time = 0;
  #next = 1;
  readonly #pending = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.time;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.#pending.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.#pending.delete(handle as number);
  };
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.#pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = until;
  }
}

const meta = (name: string, rv = "1") => ({ namespace: "default", name, uid: name, resourceVersion: rv, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z", labels: {}, annotations: {} });
const svc = (name: string): Service => ({ kind: "Service", meta: meta(name), type: "ClusterIP", ports: [{ name: "http", port: 80, protocol: "TCP" }], loadBalancerIngress: [] });
const ing = (name: string, host: string, rv = "1"): Ingress => ({
  kind: "Ingress",
  meta: meta(name, rv),
  tls: [],
  status: [],
  rules: [{ host, paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] }],
});
const slice = (rv: string, ips: string[]): EndpointSlice => ({
  kind: "EndpointSlice",
  meta: { ...meta("web-1", rv), labels: { "kubernetes.io/service-name": "web" } },
  serviceName: "web",
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
});

function setup(): { store: ClusterStore; registry: EndpointRegistry; holder: RouteTableHolder; reconciler: Reconciler; timers: FakeTimers } {
  const timers = new FakeTimers();
  const store = new ClusterStore();
  const registry = new EndpointRegistry();
  const holder = new RouteTableHolder();
  const logger = createLogger({ level: "error", write: () => {} });
  const reconciler = new Reconciler({
    store,
    registry,
    holder,
    logger,
    timers,
    diagnostics: new DiagnosticReporter(logger),
    settings: { ingressClass: "turnout", controllerName: "turnout.dev/ingress-controller", watchIngressWithoutClass: true },
    holdoffMs: 50,
    maxDelayMs: 500,
  });
  store.upsert(svc("web"));
  return { store, registry, holder, reconciler, timers };
}

describe("Reconciler", () => {
  test("publishes nothing before every source synced, then the whole state at once", () => {
    const { store, holder, reconciler, timers } = setup();
    store.upsert(ing("a", "a.test"));
    timers.advance(10_000);
    assert.equal(holder.current?.generation, undefined);
    reconciler.markSynced();
    assert.equal(holder.current?.generation, 1);
    assert.ok(holder.current?.table.exactHosts.has("a.test"));
  });

  test("a burst of 1,000 changes causes a handful of rebuilds, and the last state wins", () => {
    const { store, holder, reconciler, timers } = setup();
    reconciler.markSynced();
    const before = reconciler.rebuilds;
    for (let i = 0; i < 1000; i++) {
      store.upsert(ing(`i${i % 100}`, `host-${i}.test`, String(i + 2)));
      timers.advance(2); // 2 s of events, one every 2 ms
    }
    timers.advance(1000);
    const rebuilds = reconciler.rebuilds - before;
    assert.ok(rebuilds >= 2 && rebuilds <= 6, `${rebuilds} rebuilds for 1,000 events over 2 s (max delay 500 ms)`);
    assert.ok(holder.current?.table.exactHosts.has("host-999.test"));
    assert.equal(holder.current?.table.exactHosts.size, 100);
  });

  test("a quiet change is built after the hold-off", () => {
    const { store, holder, reconciler, timers } = setup();
    reconciler.markSynced();
    store.upsert(ing("a", "a.test", "2"));
    timers.advance(49);
    assert.equal(holder.current?.table.exactHosts.has("a.test"), false);
    timers.advance(1);
    assert.equal(holder.current?.table.exactHosts.has("a.test"), true);
  });

  test("a rebuild that changes nothing is not republished", () => {
    const { store, holder, reconciler, timers } = setup();
    store.upsert(ing("a", "a.test"));
    reconciler.markSynced();
    // A new resourceVersion with the same content (e.g. a status write) changes no route.
    store.upsert(ing("a", "a.test", "7"));
    timers.advance(100);
    assert.equal(reconciler.rebuilds, 2);
    assert.equal(holder.current?.generation, 1);
  });

  test("EndpointSlice changes update the registry without any rebuild", () => {
    const { store, registry, holder, reconciler, timers } = setup();
    store.upsert(ing("a", "a.test"));
    reconciler.markSynced();
    const backend = holder.current!.table.backends[0]!;
    for (let i = 0; i < 50; i++) store.upsert(slice(String(i + 2), [`10.0.0.${i + 1}`, "10.0.1.1"]));
    timers.advance(1000);
    assert.equal(reconciler.rebuilds, 1);
    assert.deepEqual(registry.endpointSet(backend).usable.map((e) => e.address), ["10.0.0.50:8080", "10.0.1.1:8080"]);
  });
});

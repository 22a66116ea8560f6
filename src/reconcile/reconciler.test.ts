// Reconciler: nothing before sync, a lone change applied at once, bursts coalesced
// in proportion to rebuild cost, identical tables not republished, endpoint churn
// never rebuilding routes (with an injected clock).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClusterStore } from "../store/cluster-store.ts";
import type { EndpointSlice, Ingress, Service } from "../store/objects.ts";
import { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import { RouteTableHolder } from "../routing/published-table.ts";
import { createLogger } from "../observability/logger.ts";
import { DiagnosticReporter } from "./diagnostic-reporter.ts";
import { Reconciler } from "./reconciler.ts";
import { ManualTimers } from "./test-timers.ts";

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

/** `rebuildCostMs`: how much clock time each rebuild takes. */
function setup(rebuildCostMs = 0): { store: ClusterStore; registry: EndpointRegistry; holder: RouteTableHolder; reconciler: Reconciler; timers: ManualTimers; logs: Record<string, unknown>[] } {
  const timers = new ManualTimers();
  const store = new ClusterStore();
  const registry = new EndpointRegistry();
  const holder = new RouteTableHolder();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "info", write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const reconciler = new Reconciler({
    store,
    registry,
    holder,
    logger,
    timers,
    diagnostics: new DiagnosticReporter({ logger }),
    settings: { ingressClass: "turnout", controllerName: "turnout.dev/ingress-controller", watchIngressWithoutClass: true },
    holdoffMs: 5,
    costFactor: 2,
    maxPauseMs: 500,
    onRebuild: () => {
      timers.time += rebuildCostMs;
    },
  });
  store.upsert(svc("web"));
  return { store, registry, holder, reconciler, timers, logs };
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

  test("a burst of 1,000 changes is coalesced into few rebuilds (at most 1/3 of the time rebuilding), and the last state wins", () => {
    const { store, holder, reconciler, timers } = setup(20);
    reconciler.markSynced();
    const before = reconciler.rebuilds;
    for (let i = 0; i < 1000; i++) {
      store.upsert(ing(`i${i % 100}`, `host-${i}.test`, String(i + 2)));
      timers.advance(2); // 2 s of events, one every 2 ms
    }
    timers.advance(1000);
    const rebuilds = reconciler.rebuilds - before;
    // Each rebuild costs 20 ms and is followed by a 40 ms pause: about 2 s / 60 ms.
    assert.ok(rebuilds >= 28 && rebuilds <= 36, `${rebuilds} rebuilds for 1,000 events over 2 s`);
    assert.ok(holder.current?.table.exactHosts.has("host-999.test"));
    assert.equal(holder.current?.table.exactHosts.size, 100);
  });

  test("a quiet change is built after the 5 ms hold-off", () => {
    const { store, holder, reconciler, timers } = setup(1);
    reconciler.markSynced();
    timers.advance(1000);
    store.upsert(ing("a", "a.test", "2"));
    timers.advance(4);
    assert.equal(holder.current?.table.exactHosts.has("a.test"), false);
    timers.advance(1);
    assert.equal(holder.current?.table.exactHosts.has("a.test"), true);
  });

  test("a change right after a cheap rebuild waits only the hold-off; after a costly one, twice its cost", () => {
    const cheap = setup(1);
    cheap.reconciler.markSynced();
    cheap.store.upsert(ing("a", "a.test", "2"));
    cheap.timers.advance(5);
    assert.equal(cheap.holder.current?.table.exactHosts.has("a.test"), true);

    const costly = setup(100);
    costly.reconciler.markSynced(); // ends at t = 100 ms: no rebuild before t = 300 ms
    costly.store.upsert(ing("a", "a.test", "2"));
    costly.timers.advance(199);
    assert.equal(costly.holder.current?.table.exactHosts.has("a.test"), false);
    costly.timers.advance(1);
    assert.equal(costly.holder.current?.table.exactHosts.has("a.test"), true);
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

  test("an Ingress that stops being turnout's while it still exists is logged with its class; a deleted one is not", () => {
    const { store, reconciler, timers, logs } = setup();
    const ourClass = { kind: "IngressClass" as const, meta: meta("ours"), controller: "turnout.dev/ingress-controller" };
    store.upsert(ourClass);
    for (const name of ["a", "b", "c"]) store.upsert({ ...ing(name, `${name}.test`), ingressClassName: "ours" });
    reconciler.markSynced();
    const lostRefs = (): unknown[] => logs.filter((l) => l.msg === "Ingress is no longer turnout's; its routes are removed").map((l) => `${String(l.ref)} ${String(l.ingressClass)}`);
    assert.deepEqual(lostRefs(), []);

    store.upsert({ ...ing("a", "a.test", "2"), ingressClassName: "nginx" });
    store.delete("Ingress", "default", "b");
    timers.advance(10);
    assert.deepEqual(lostRefs(), ["default/a nginx"]);

    store.delete("IngressClass", "default", "ours");
    timers.advance(1000);
    assert.deepEqual(lostRefs(), ["default/a nginx", "default/c ours"]);

    // Ours again, then lost again: reported again.
    store.upsert(ourClass);
    timers.advance(1000);
    store.upsert({ ...ing("c", "c.test", "2"), ingressClassName: "nginx" });
    timers.advance(1000);
    assert.deepEqual(lostRefs(), ["default/a nginx", "default/c ours", "default/c nginx"]);
  });

  test("when many Ingresses stop being turnout's at once, 20 are named and the rest counted", () => {
    const { store, reconciler, timers, logs } = setup();
    store.upsert({ kind: "IngressClass", meta: meta("ours"), controller: "turnout.dev/ingress-controller" });
    for (let i = 0; i < 25; i++) store.upsert({ ...ing(`i${i}`, `i${i}.test`), ingressClassName: "ours" });
    reconciler.markSynced();
    store.delete("IngressClass", "default", "ours");
    timers.advance(1000);
    assert.equal(logs.filter((l) => l.msg === "Ingress is no longer turnout's; its routes are removed").length, 20);
    assert.equal(logs.find((l) => l.msg === "more Ingresses are no longer turnout's")?.count, 5);
  });

  test("an invalid edit keeps the last accepted version, also of an Ingress that became ours through a later IngressClass", () => {
    const { store, holder, reconciler, timers } = setup();
    const classed = (rv: string, annotations: Record<string, string>): Ingress => ({
      ...ing("late", "late.test", rv),
      ingressClassName: "late",
      meta: { ...meta("late", rv), annotations },
    });
    store.upsert(ing("a", "a.test"));
    store.upsert(classed("1", {}));
    reconciler.markSynced();
    assert.equal(holder.current?.table.exactHosts.has("late.test"), false, "class late is not ours yet");
    store.upsert({ kind: "IngressClass", meta: meta("late"), controller: "turnout.dev/ingress-controller" });
    timers.advance(100);
    assert.equal(holder.current?.table.exactHosts.has("late.test"), true);

    store.upsert(classed("2", { "turnout.dev/weight": "lots" }));
    store.upsert({ ...ing("a", "a.test", "2"), meta: { ...meta("a", "2"), annotations: { "turnout.dev/load-balance": "fastest" } } });
    timers.advance(100);
    assert.equal(holder.current?.table.exactHosts.has("late.test"), true, "still served by its last accepted version");
    assert.equal(holder.current?.table.exactHosts.has("a.test"), true, "still served by its last accepted version");
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

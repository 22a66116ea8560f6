// EndpointRegistry: sets per backend, health flags per address, invalidation and panic.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EndpointSlice } from "../store/objects.ts";
import type { BackendRef } from "../routing/route-table.ts";
import { createLogger } from "../observability/logger.ts";
import { EndpointRegistry } from "./endpoint-registry.ts";
import type { PanicEvent } from "./endpoint-registry.ts";

interface SliceEntry {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

function slice(service: string, name: string, entries: SliceEntry[], port = 8080, portName = "http"): EndpointSlice {
  return {
    kind: "EndpointSlice",
    meta: {
      namespace: "shop",
      name,
      uid: name,
      resourceVersion: "1",
      generation: 1,
      creationTimestamp: "",
      labels: {},
      annotations: {},
    },
    serviceName: service,
    addressType: "IPv4",
    ports: [{ name: portName, port, protocol: "TCP" }],
    endpoints: entries.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
}

function backend(service: string, portName = "http"): BackendRef {
  return { key: `shop/${service}:80`, namespace: "shop", service, port: 80, portName };
}

function setup(): { registry: EndpointRegistry; clock: { now: number }; lines: Record<string, unknown>[]; panics: PanicEvent[] } {
  const clock = { now: 10_000 };
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const registry = new EndpointRegistry({ now: () => clock.now, logger });
  const panics: PanicEvent[] = [];
  registry.onPanic((event) => panics.push(event));
  return { registry, clock, lines, panics };
}

const usable = (registry: EndpointRegistry, ref: BackendRef): string[] => registry.endpointSet(ref).usable.map((e) => e.address);

void test("usable leaves out endpoints failing active checks and restores them when cleared", () => {
  const { registry } = setup();
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }]));
  const web = backend("web");
  assert.deepEqual(usable(registry, web), ["10.0.0.1:8080", "10.0.0.2:8080"]);
  assert.equal(registry.setFailedActiveCheck("10.0.0.1:8080", true), true);
  assert.deepEqual(usable(registry, web), ["10.0.0.2:8080"]);
  assert.equal(registry.setFailedActiveCheck("10.0.0.1:8080", true), false, "no change, no invalidation");
  registry.setFailedActiveCheck("10.0.0.1:8080", false);
  assert.deepEqual(usable(registry, web), ["10.0.0.1:8080", "10.0.0.2:8080"]);
});

void test("a Service port renamed under the same number: the backend's set follows the new name", () => {
  const { registry } = setup();
  // The slice already carries the new name; the old table's backend asks first and caches an empty set.
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }], 8080, "web"));
  assert.deepEqual(usable(registry, backend("web", "http")), []);
  assert.deepEqual(usable(registry, backend("web", "web")), ["10.0.0.1:8080"], "same key, new port name: not the cached empty set");
});

void test("a health change bumps the version of exactly the sets holding that address", () => {
  const { registry } = setup();
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }]));
  registry.applySlice(slice("api", "api-1", [{ ip: "10.0.0.3" }]));
  // A second Service selecting the same pod on the same port shares the address.
  registry.applySlice(slice("web-canary", "canary-1", [{ ip: "10.0.0.1" }]));
  const web = registry.endpointSet(backend("web"));
  const api = registry.endpointSet(backend("api"));
  const canary = registry.endpointSet(backend("web-canary"));
  assert.equal(registry.endpointSet(backend("web")), web, "cached while nothing changes");

  registry.setFailedActiveCheck("10.0.0.1:8080", true);
  const webAfter = registry.endpointSet(backend("web"));
  const canaryAfter = registry.endpointSet(backend("web-canary"));
  assert.ok(webAfter.version > web.version);
  assert.ok(canaryAfter.version > canary.version);
  assert.equal(registry.endpointSet(backend("api")), api, "a set without the address is untouched");
  assert.equal(canaryAfter.panic, true);
});

void test("a health change leaves the sets of another port of the same Service alone", () => {
  const { registry } = setup();
  registry.applySlice({
    ...slice("web", "web-1", [{ ip: "10.0.0.1" }]),
    ports: [
      { name: "http", port: 8080, protocol: "TCP" },
      { name: "metrics", port: 9090, protocol: "TCP" },
    ],
  });
  const http = registry.endpointSet(backend("web", "http"));
  const metricsRef: BackendRef = { key: "shop/web:9090", namespace: "shop", service: "web", port: 9090, portName: "metrics" };
  const metrics = registry.endpointSet(metricsRef);
  registry.eject("10.0.0.1:9090", 20_000);
  assert.equal(registry.endpointSet(backend("web", "http")), http);
  assert.notEqual(registry.endpointSet(metricsRef).version, metrics.version);
});

void test("an ejection takes effect at once and expires by the clock without any call into the registry", () => {
  const { registry, clock } = setup();
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }]));
  const web = backend("web");
  assert.equal(registry.eject("10.0.0.1:8080", clock.now + 30_000), true);
  assert.equal(registry.isEjected("10.0.0.1:8080"), true);
  const during = registry.endpointSet(web);
  assert.deepEqual(during.usable.map((e) => e.address), ["10.0.0.2:8080"]);
  clock.now += 29_999;
  assert.equal(registry.endpointSet(web), during, "still ejected 1 ms before the end");
  clock.now += 1;
  const after = registry.endpointSet(web);
  assert.ok(after.version > during.version);
  assert.deepEqual(after.usable.map((e) => e.address), ["10.0.0.1:8080", "10.0.0.2:8080"]);
  assert.equal(registry.isEjected("10.0.0.1:8080"), false);
  assert.equal(registry.endpointSet(web), after, "no rebuild per call once nothing is pending");
});

void test("health survives slice updates and is dropped once the address leaves every slice", () => {
  const { registry } = setup();
  const removedSeen: string[][] = [];
  registry.onChange((_service, removed) => removedSeen.push([...removed]));
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }]));
  registry.setFailedActiveCheck("10.0.0.1:8080", true);
  // The pod moves to another slice while still in the first (slice rebalancing).
  registry.applySlice(slice("web", "web-2", [{ ip: "10.0.0.1" }]));
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.2" }]));
  assert.equal(registry.health("10.0.0.1:8080")?.failedActiveCheck, true);
  assert.deepEqual(usable(registry, backend("web")), ["10.0.0.2:8080"]);

  registry.deleteSlice(slice("web", "web-2", []));
  assert.deepEqual(removedSeen.at(-1), ["10.0.0.1:8080"]);
  assert.equal(registry.health("10.0.0.1:8080"), undefined);
  // The same address coming back (a new pod reusing the IP) starts healthy.
  registry.applySlice(slice("web", "web-2", [{ ip: "10.0.0.1" }]));
  assert.deepEqual(usable(registry, backend("web")), ["10.0.0.1:8080", "10.0.0.2:8080"]);
});

void test("an address still named by another Service keeps its health when one Service drops it", () => {
  const { registry } = setup();
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }]));
  registry.applySlice(slice("web-canary", "canary-1", [{ ip: "10.0.0.1" }]));
  registry.eject("10.0.0.1:8080", 99_000);
  registry.deleteSlice(slice("web", "web-1", []));
  assert.equal(registry.isEjected("10.0.0.1:8080"), true);
  assert.deepEqual([...registry.knownAddresses()], ["10.0.0.1:8080"]);
});

void test("an address named by two Services, then by one, then by none: flags reach every set holding it until it is gone", () => {
  const { registry } = setup();
  const removedSeen: string[][] = [];
  registry.onChange((_service, removed) => removedSeen.push([...removed]));
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }]));
  registry.applySlice(slice("web-canary", "canary-1", [{ ip: "10.0.0.1" }]));
  registry.applySlice(slice("web-canary", "canary-2", [{ ip: "10.0.0.1" }]));
  registry.setFailedActiveCheck("10.0.0.1:8080", true);
  assert.deepEqual(usable(registry, backend("web")), ["10.0.0.2:8080"]);
  assert.equal(registry.endpointSet(backend("web-canary")).panic, true);

  registry.deleteSlice(slice("web", "web-1", []));
  registry.deleteSlice(slice("web-canary", "canary-2", []));
  assert.deepEqual(removedSeen.at(-1), [], "canary-1 still names the address");
  assert.equal(registry.setFailedActiveCheck("10.0.0.1:8080", false), true);
  assert.deepEqual(usable(registry, backend("web-canary")), ["10.0.0.1:8080"]);

  registry.deleteSlice(slice("web-canary", "canary-1", []));
  assert.deepEqual(removedSeen.at(-1), ["10.0.0.1:8080"]);
  assert.deepEqual([...registry.knownAddresses()], []);
  assert.equal(registry.eject("10.0.0.1:8080", 99_000), false);
});

void test("flags for unknown addresses are ignored, so late probes cannot resurrect state", () => {
  const { registry } = setup();
  assert.equal(registry.setFailedActiveCheck("10.9.9.9:80", true), false);
  assert.equal(registry.eject("10.9.9.9:80", 99_000), false);
  assert.equal(registry.health("10.9.9.9:80"), undefined);
  assert.deepEqual(registry.unhealthyAddresses(), []);
});

void test("panic mode: all candidates take traffic, logged and reported once per entry", () => {
  const { registry, clock, lines, panics } = setup();
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3", ready: false }]));
  const web = backend("web");
  registry.setFailedActiveCheck("10.0.0.1:8080", true);
  registry.eject("10.0.0.2:8080", clock.now + 1_000);
  const set = registry.endpointSet(web);
  assert.equal(set.panic, true);
  assert.deepEqual(set.usable.map((e) => e.address), ["10.0.0.1:8080", "10.0.0.2:8080"]);
  // More rebuilds while still in panic do not report again.
  registry.setFailedActiveCheck("10.0.0.2:8080", true);
  assert.equal(registry.endpointSet(web).panic, true);
  assert.deepEqual(panics, [{ backendKey: "shop/web:80", entered: true, candidates: 2 }]);
  assert.deepEqual(registry.panicStats(), { panicEventsTotal: 1, backendsInPanic: ["shop/web:80"] });
  assert.equal(lines.filter((l) => l.level === "warn" && l.backend === "shop/web:80").length, 1);

  registry.setFailedActiveCheck("10.0.0.1:8080", false);
  assert.equal(registry.endpointSet(web).panic, false);
  assert.deepEqual(panics.at(-1), { backendKey: "shop/web:80", entered: false, candidates: 2 });
  registry.setFailedActiveCheck("10.0.0.1:8080", true);
  assert.equal(registry.endpointSet(web).panic, true);
  assert.deepEqual(registry.panicStats(), { panicEventsTotal: 2, backendsInPanic: ["shop/web:80"] });
});

void test("terminating endpoints still serving take traffic when none is ready, and health applies to them", () => {
  const { registry } = setup();
  registry.applySlice(
    slice("web", "web-1", [
      { ip: "10.0.0.1", ready: false, serving: true, terminating: true },
      { ip: "10.0.0.2", ready: false, serving: true, terminating: true },
      { ip: "10.0.0.3", ready: false, serving: false, terminating: true },
    ]),
  );
  registry.setFailedActiveCheck("10.0.0.2:8080", true);
  const set = registry.endpointSet(backend("web"));
  assert.deepEqual(set.candidates.map((e) => e.address), ["10.0.0.1:8080", "10.0.0.2:8080"]);
  assert.deepEqual(set.usable.map((e) => e.address), ["10.0.0.1:8080"]);
});

void test("unhealthyAddresses lists current flags only", () => {
  const { registry, clock } = setup();
  registry.applySlice(slice("web", "web-1", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3" }]));
  registry.eject("10.0.0.2:8080", clock.now + 500);
  registry.setFailedActiveCheck("10.0.0.3:8080", true);
  registry.setFailedActiveCheck("10.0.0.1:8080", true);
  registry.setFailedActiveCheck("10.0.0.1:8080", false);
  assert.deepEqual(registry.unhealthyAddresses(), [
    { address: "10.0.0.2:8080", failedActiveCheck: false, ejectedUntil: clock.now + 500 },
    { address: "10.0.0.3:8080", failedActiveCheck: true, ejectedUntil: 0 },
  ]);
  clock.now += 500;
  assert.deepEqual(registry.unhealthyAddresses().map((e) => e.address), ["10.0.0.3:8080"]);
});

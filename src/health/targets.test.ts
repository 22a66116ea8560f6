// healthCheckTargets: one target per checked endpoint, deterministic settings when routes disagree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { testSlice } from "../endpoints/test-slices.ts";
import type { BackendRef, HealthCheckPolicy, RouteMember, RouteTable } from "../routing/route-table.ts";
import { group, hostRoutes, table, TEST_POLICY } from "../routing/test-tables.ts";
import { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import { backendHealthChecks, healthCheckTargets } from "./targets.ts";

const CHECK: HealthCheckPolicy = { path: "/healthz", intervalMs: 10_000, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 3 };

function ref(service: string): BackendRef {
  return { key: `shop/${service}:80`, namespace: "shop", service, port: 80, portName: "http" };
}

function checkedMember(service: string, check: HealthCheckPolicy | undefined, ingress = service): RouteMember {
  return {
    source: { namespace: "shop", name: ingress },
    backend: ref(service),
    conditions: [],
    weight: 100,
    policy: check ? { ...TEST_POLICY, healthCheck: check } : TEST_POLICY,
  };
}

/** A table whose host "shop.example" routes each path to one member. */
function tableOf(routes: Record<string, RouteMember>, defaultMember?: RouteMember): RouteTable {
  const host = hostRoutes("shop.example", {});
  for (const [path, m] of Object.entries(routes)) host.prefix.set(path, group("shop.example", path, "Prefix", [m]));
  const t = table([host]);
  if (defaultMember) t.defaultBackend = group("", "", "Prefix", [defaultMember]);
  return t;
}

void test("every ready or serving endpoint of a checked backend is a target; unchecked backends are not", () => {
  const registry = new EndpointRegistry();
  registry.applySlice(
    testSlice("web", [
      { ip: "10.0.0.2" },
      { ip: "10.0.0.1" },
      { ip: "10.0.0.3", ready: false, serving: true, terminating: true },
      { ip: "10.0.0.4", ready: false },
    ]),
  );
  registry.applySlice(testSlice("api", [{ ip: "10.0.1.1" }]));
  const t = tableOf({ "/": checkedMember("web", { ...CHECK, port: 9000 }), "/api": checkedMember("api", undefined) });
  assert.deepEqual(healthCheckTargets(t, registry), [
    { address: "10.0.0.1:8080", ip: "10.0.0.1", port: 9000, path: "/healthz", intervalMs: 10_000, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 3, backendKey: "shop/web:80" },
    { address: "10.0.0.2:8080", ip: "10.0.0.2", port: 9000, path: "/healthz", intervalMs: 10_000, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 3, backendKey: "shop/web:80" },
    { address: "10.0.0.3:8080", ip: "10.0.0.3", port: 9000, path: "/healthz", intervalMs: 10_000, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 3, backendKey: "shop/web:80" },
  ]);
});

void test("without a check port the probe goes to the traffic port", () => {
  const registry = new EndpointRegistry();
  registry.applySlice(testSlice("web", [{ ip: "10.0.0.1" }]));
  const [target] = healthCheckTargets(tableOf({ "/": checkedMember("web", CHECK) }), registry);
  assert.equal(target?.port, 8080);
});

void test("routes asking different settings for one backend: the shortest interval wins, whatever the order", () => {
  const registry = new EndpointRegistry();
  registry.applySlice(testSlice("web", [{ ip: "10.0.0.1" }]));
  const slow = checkedMember("web", { ...CHECK, path: "/slow", intervalMs: 30_000 }, "a");
  const fast = checkedMember("web", { ...CHECK, path: "/fast", intervalMs: 5_000 }, "b");
  for (const t of [tableOf({ "/a": slow, "/b": fast }), tableOf({ "/a": fast, "/b": slow }), tableOf({ "/a": slow }, fast)]) {
    const targets = healthCheckTargets(t, registry);
    assert.deepEqual(targets.map((x) => [x.path, x.intervalMs]), [["/fast", 5_000]]);
  }
  // Equal intervals: the shorter timeout, then the path, decide.
  const t = tableOf({ "/a": checkedMember("web", { ...CHECK, path: "/z", timeoutMs: 500 }), "/b": checkedMember("web", { ...CHECK, path: "/a" }) });
  assert.deepEqual(healthCheckTargets(t, registry).map((x) => x.path), ["/z"]);
  const u = tableOf({ "/a": checkedMember("web", { ...CHECK, path: "/z" }), "/b": checkedMember("web", { ...CHECK, path: "/a" }) });
  assert.deepEqual(healthCheckTargets(u, registry).map((x) => x.path), ["/a"]);
});

void test("an endpoint in two checked backends is one target, with the settings that win", () => {
  const registry = new EndpointRegistry();
  registry.applySlice(testSlice("web", [{ ip: "10.0.0.1" }]));
  registry.applySlice(testSlice("web-canary", [{ ip: "10.0.0.1" }]));
  const t = tableOf({
    "/": checkedMember("web", { ...CHECK, intervalMs: 20_000 }),
    "/canary": checkedMember("web-canary", { ...CHECK, intervalMs: 15_000 }),
  });
  assert.deepEqual(healthCheckTargets(t, registry).map((x) => [x.address, x.backendKey, x.intervalMs]), [["10.0.0.1:8080", "shop/web-canary:80", 15_000]]);
});

void test("conditioned members, fallbacks and the default backend are checked too", () => {
  const conditioned: RouteMember = { ...checkedMember("beta", CHECK), conditions: [{ source: "header", name: "x-beta", op: "present" }], weight: 0 };
  const host = hostRoutes("shop.example", {});
  host.prefix.set("/", group("shop.example", "/", "Prefix", [checkedMember("web", undefined), conditioned]));
  host.fallback = group("shop.example", "", "Prefix", [checkedMember("fallback", CHECK)]);
  const t = table([host]);
  t.defaultBackend = group("", "", "Prefix", [checkedMember("default", CHECK)]);
  assert.deepEqual(backendHealthChecks(t).map((c) => c.backend.key), ["shop/beta:80", "shop/default:80", "shop/fallback:80"]);
});

void test("targets follow endpoint changes for the same table", () => {
  const registry = new EndpointRegistry();
  const t = tableOf({ "/": checkedMember("web", CHECK) });
  assert.deepEqual(healthCheckTargets(t, registry), []);
  registry.applySlice(testSlice("web", [{ ip: "10.0.0.1" }]));
  assert.deepEqual(healthCheckTargets(t, registry).map((x) => x.address), ["10.0.0.1:8080"]);
  registry.applySlice(testSlice("web", [{ ip: "10.0.0.2" }]));
  assert.deepEqual(healthCheckTargets(t, registry).map((x) => x.address), ["10.0.0.2:8080"]);
});

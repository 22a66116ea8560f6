// The primary -> worker messages survive the trip a cluster IPC channel with
// serialization "advanced" makes (v8.serialize/deserialize, i.e. structured clone):
// a RouteTable keeps its Maps and RegExps and routes exactly as before; a channel
// that would lose them is caught; malformed messages get a specific error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { deserialize, serialize } from "node:v8";
import { buildRouteTable } from "../translate/index.ts";
import { at, backend, ingress, path, request, rule, secret, service, simpleIngress, snapshot } from "../translate/test-objects.ts";
import { matchRoute, routeTableFingerprint } from "../routing/index.ts";
import type { RouteTable } from "../routing/index.ts";
import { createMetrics } from "../observability/metrics.ts";
import { parsePrimaryMessage, parseWorkerMessage } from "./messages.ts";
import type { PrimaryMessage, WorkerMessage } from "./messages.ts";

/** What crosses the channel: the bytes v8 makes of a message, read back. */
function overTheChannel(message: unknown): unknown {
  return deserialize(serialize(message));
}

function sampleTable(): RouteTable {
  const result = buildRouteTable(
    snapshot({
      ingresses: [
        ingress("shop", [rule("shop.test", path("/", "Prefix", backend("web", 80)), path("/api", "Prefix", backend("api", 80)), path("/health", "Exact", backend("api", 80)))], {
          created: at(1),
          tls: [{ hosts: ["shop.test"], secretName: "shop-tls" }],
          defaultBackend: backend("web", 80),
        }),
        ingress("shop-canary", [rule("shop.test", path("/api", "Prefix", backend("api-canary", 80)))], {
          created: at(2),
          annotations: { "turnout.dev/match-headers": "X-Beta~yes|true", "turnout.dev/load-balance": "ewma" },
        }),
        simpleIngress("shop-weighted", "shop.test", "/", "web-next", { created: at(3), annotations: { "turnout.dev/weight": "20" } }),
        simpleIngress("wild", "*.wild.test", "/", "web", { created: at(4), annotations: { "turnout.dev/health-check-path": "/healthz" } }),
      ],
      services: [service("web"), service("web-next"), service("api"), service("api-canary")],
      secrets: [secret("shop-tls")],
    }),
  );
  assert.deepEqual(result.diagnostics, []);
  return result.table;
}

test("a RouteTable crosses the channel intact: Maps and RegExps, same routing", () => {
  const table = sampleTable();
  const message: PrimaryMessage = { type: "table", generation: 7, publishedAt: 1_700_000_000_000, table };
  const parsed = parsePrimaryMessage(overTheChannel(message));
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  assert.equal(parsed.message.type, "table");
  if (parsed.message.type !== "table") return;
  const clone = parsed.message.table;
  assert.notEqual(clone, table);
  assert.equal(parsed.message.generation, 7);
  assert.ok(clone.exactHosts instanceof Map && clone.wildcardHosts instanceof Map);
  assert.equal(routeTableFingerprint(clone), routeTableFingerprint(table));
  const regex = clone.exactHosts.get("shop.test")?.prefix.get("/api")?.conditioned[0]?.conditions[0]?.regex;
  assert.ok(regex instanceof RegExp);
  assert.equal(regex.test("true"), true);
  assert.equal(regex.test("nope"), false);

  const requests = [
    request("shop.test", "/"),
    request("shop.test", "/api/users"),
    request("shop.test", "/api/users", { headers: { "x-beta": "yes" } }),
    request("shop.test", "/health"),
    request("shop.test", "/nowhere/else"),
    request("a.wild.test", "/"),
    request("unknown.test", "/"),
  ];
  for (const random of [0, 0.5, 0.9]) {
    for (const r of requests) {
      const where = (t: RouteTable): string => {
        const match = matchRoute(t, r, () => random);
        return match ? `${match.via} ${match.member.source.name} ${match.member.backend.key} ${match.hostRoutes?.tlsSecret ?? "-"}` : "none";
      };
      assert.equal(where(clone), where(table), `${r.host}${r.path} with random ${random}`);
    }
  }
});

test("the parser tells a table that lost its Maps (a JSON channel) from a good one", () => {
  const table = sampleTable();
  const overJson: unknown = JSON.parse(JSON.stringify({ type: "table", generation: 1, publishedAt: 0, table }));
  const parsed = parsePrimaryMessage(overJson);
  assert.equal(parsed.ok, false);
  assert.match(parsed.ok ? "" : parsed.error, /table: not a RouteTable .*serialization: advanced/);
});

test("every primary message kind parses after the trip", () => {
  const slice = {
    kind: "EndpointSlice",
    meta: { namespace: "default", name: "web-1", uid: "", resourceVersion: "3", generation: 1, creationTimestamp: at(0), labels: {}, annotations: {} },
    serviceName: "web",
    addressType: "IPv4",
    ports: [{ name: "", port: 8080, protocol: "TCP" }],
    endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: true, serving: true, terminating: false } }],
  };
  const messages: unknown[] = [
    { type: "snapshot", selfSigned: { cert: "c", key: "k" }, ports: { http: 8080, https: 8443 }, slices: [slice], secrets: [secret("tls")], failedActiveChecks: ["10.0.0.1:8080"] },
    { type: "snapshot", selfSigned: { cert: "c", key: "k" }, ports: { http: 8080, https: 8443 }, published: { generation: 2, publishedAt: 5, table: sampleTable() }, slices: [], secrets: [], failedActiveChecks: [] },
    { type: "slice", change: "upsert", slice },
    { type: "slice", change: "delete", slice },
    { type: "secret", change: "upsert", secret: secret("tls") },
    { type: "active-check", address: "10.0.0.1:8080", failed: true },
    { type: "metrics-request", id: 3 },
    { type: "drain", graceMs: 30_000 },
  ];
  for (const message of messages) {
    const parsed = parsePrimaryMessage(overTheChannel(message));
    assert.ok(parsed.ok, `${JSON.stringify((message as { type: string }).type)}: ${parsed.ok ? "" : parsed.error}`);
  }
});

test("a worker's metrics snapshot crosses the channel and parses", async () => {
  const metrics = createMetrics({ defaultMetrics: true });
  try {
    const message: WorkerMessage = { type: "metrics", id: 9, metrics: await metrics.registry.getMetricsAsJSON() };
    const parsed = parseWorkerMessage(overTheChannel(message));
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
    assert.ok(parsed.message.type === "metrics" && parsed.message.metrics.some((m) => m.name === "turnout_requests_total"));
  } finally {
    metrics.close();
  }
});

test("malformed messages are rejected with what is wrong", () => {
  const cases: [unknown, RegExp][] = [
    [{ type: "tabel", generation: 1 }, /unexpected message \(tabel\)/],
    [{ type: "table", generation: -1, publishedAt: 0, table: sampleTable() }, /generation/],
    [{ type: "slice", change: "upsert", slice: { kind: "Secret" } }, /slice: not an EndpointSlice/],
    [{ type: "drain" }, /graceMs/],
    ["hello", /unexpected message \(string\)/],
  ];
  for (const [message, error] of cases) {
    const parsed = parsePrimaryMessage(message);
    assert.equal(parsed.ok, false, JSON.stringify(message));
    assert.match(parsed.ok ? "" : parsed.error, error);
  }
  assert.equal(parseWorkerMessage({ type: "applied", generation: "1" }).ok, false);
  assert.equal(parseWorkerMessage({ type: "listening", http: 80, https: 443 }).ok, true);
});

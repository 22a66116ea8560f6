// Metrics end to end: events published on the turnout:* channels must show up
// as the right samples in the exposition text a scrape returns.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createMetrics } from "./metrics.ts";
import type { EndpointStateCount, Metrics, MetricsOptions } from "./metrics.ts";
import { METRIC_DEFINITIONS } from "./metric-definitions.ts";
import {
  channels,
  publishApiError,
  publishConnection,
  publishEjection,
  publishPanic,
  publishRebuild,
  publishRequestEnd,
  publishRetry,
  publishSync,
  publishUpstreamAttempt,
  publishWatchRestart,
} from "./events.ts";
import type { RequestEndEvent } from "./events.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] ?? ""] = pair[2] ?? "";
    samples.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return samples;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value;
}

async function scrape(metrics: Metrics): Promise<Sample[]> {
  return parseExposition(await metrics.render());
}

/** Metrics without process metrics (unless asked), closed when the test ends. */
function metricsFor(t: { after(fn: () => void): void }, options: MetricsOptions = {}): Metrics {
  const metrics = createMetrics({ defaultMetrics: false, ...options });
  t.after(() => metrics.close());
  return metrics;
}

const SHOP = { namespace: "shop", ingress: "web", service: "shop/web:80" };

function requestEnd(overrides: Partial<RequestEndEvent> = {}): RequestEndEvent {
  return { ...SHOP, method: "GET", code: 200, durationSeconds: 0.03, upstreamSeconds: 0.02, bytesIn: 100, bytesOut: 1000, ...overrides };
}

test("a finished request counts under its route, method and status, with latency and bytes", async (t) => {
  const metrics = metricsFor(t);
  publishRequestEnd(requestEnd());
  publishRequestEnd(requestEnd({ durationSeconds: 0.2, upstreamSeconds: 0.15 }));
  publishRequestEnd(requestEnd({ method: "POST", code: 503, durationSeconds: 0.001, bytesIn: 50, bytesOut: 20 }));
  const samples = await scrape(metrics);

  assert.equal(valueOf(samples, "turnout_requests_total", { ...SHOP, method: "GET", code: "200" }), 2);
  assert.equal(valueOf(samples, "turnout_requests_total", { ...SHOP, method: "POST", code: "503" }), 1);
  assert.equal(valueOf(samples, "turnout_request_duration_seconds_count", { ...SHOP, method: "GET" }), 2);
  assert.equal(valueOf(samples, "turnout_request_duration_seconds_bucket", { ...SHOP, method: "GET", le: "0.025" }), 0);
  assert.equal(valueOf(samples, "turnout_request_duration_seconds_bucket", { ...SHOP, method: "GET", le: "0.05" }), 1);
  assert.equal(valueOf(samples, "turnout_request_duration_seconds_bucket", { ...SHOP, method: "GET", le: "+Inf" }), 2);
  assert.equal(valueOf(samples, "turnout_upstream_response_duration_seconds_count", SHOP), 3);
  assert.ok(Math.abs((valueOf(samples, "turnout_upstream_response_duration_seconds_sum", SHOP) ?? 0) - 0.19) < 1e-9);
  assert.equal(valueOf(samples, "turnout_request_bytes_total", SHOP), 250);
  assert.equal(valueOf(samples, "turnout_response_bytes_total", SHOP), 2020);
});

test("a request that matched no route counts with empty route labels and no upstream latency", async (t) => {
  const metrics = metricsFor(t);
  const none = { namespace: "", ingress: "", service: "" };
  publishRequestEnd({ ...none, method: "GET", code: 404, durationSeconds: 0.0005, bytesIn: 80, bytesOut: 120 });
  const samples = await scrape(metrics);

  assert.equal(valueOf(samples, "turnout_requests_total", { ...none, method: "GET", code: "404" }), 1);
  assert.equal(valueOf(samples, "turnout_request_duration_seconds_count", { ...none, method: "GET" }), 1);
  assert.equal(valueOf(samples, "turnout_upstream_response_duration_seconds_count", none), undefined);
  assert.equal(valueOf(samples, "turnout_response_bytes_total", none), 120);
});

test("methods outside the standard set are counted as OTHER", async (t) => {
  const metrics = metricsFor(t);
  const cases: [sent: string, label: string][] = [
    ["GET", "GET"],
    ["HEAD", "HEAD"],
    ["POST", "POST"],
    ["PUT", "PUT"],
    ["DELETE", "DELETE"],
    ["PATCH", "PATCH"],
    ["OPTIONS", "OPTIONS"],
    ["CONNECT", "CONNECT"],
    ["TRACE", "TRACE"],
    ["PROPFIND", "OTHER"],
    ["get", "OTHER"],
    ["", "OTHER"],
  ];
  for (const [method] of cases) publishRequestEnd(requestEnd({ method }));
  const samples = await scrape(metrics);

  for (const [sent, label] of cases.filter(([, l]) => l !== "OTHER")) {
    assert.equal(valueOf(samples, "turnout_requests_total", { ...SHOP, method: label, code: "200" }), 1, sent);
  }
  assert.equal(valueOf(samples, "turnout_requests_total", { ...SHOP, method: "OTHER", code: "200" }), 3);
  const methods = new Set(samples.filter((s) => s.name === "turnout_requests_total").map((s) => s.labels.method));
  assert.equal(methods.size, 10);
});

test("upstream failures count by kind; successful attempts do not", async (t) => {
  const metrics = metricsFor(t);
  const service = "shop/web:80";
  const endpoint = "10.0.0.1:8080";
  publishUpstreamAttempt({ service, endpoint, outcome: "ok" });
  publishUpstreamAttempt({ service, endpoint, outcome: "connect" });
  publishUpstreamAttempt({ service, endpoint, outcome: "connect" });
  publishUpstreamAttempt({ service, endpoint, outcome: "timeout" });
  publishRetry({ service, kind: "connect" });
  publishEjection({ service, endpoint, durationSeconds: 30 });
  publishPanic({ service, healthy: 1, total: 10 });
  const samples = await scrape(metrics);

  assert.equal(valueOf(samples, "turnout_upstream_errors_total", { service, kind: "connect" }), 2);
  assert.equal(valueOf(samples, "turnout_upstream_errors_total", { service, kind: "timeout" }), 1);
  assert.equal(valueOf(samples, "turnout_upstream_errors_total", { service, kind: "reset" }), undefined);
  assert.equal(samples.filter((s) => s.name === "turnout_upstream_errors_total").length, 2);
  assert.equal(valueOf(samples, "turnout_retries_total", { service }), 1);
  assert.equal(valueOf(samples, "turnout_endpoint_ejections_total", { service }), 1);
  assert.equal(valueOf(samples, "turnout_panic_mode_total", { service }), 1);
});

test("active connections follow opens and closes per listener and never go negative", async (t) => {
  const metrics = metricsFor(t);
  let samples = await scrape(metrics);
  assert.equal(valueOf(samples, "turnout_active_connections", { listener: "http" }), 0);
  assert.equal(valueOf(samples, "turnout_active_connections", { listener: "https" }), 0);

  for (let i = 0; i < 3; i++) publishConnection({ listener: "http", state: "open" });
  publishConnection({ listener: "http", state: "close" });
  publishConnection({ listener: "https", state: "close" });
  samples = await scrape(metrics);
  assert.equal(valueOf(samples, "turnout_active_connections", { listener: "http" }), 2);
  assert.equal(valueOf(samples, "turnout_active_connections", { listener: "https" }), 0);
});

test("rebuilds count by result and update the served table's gauges, except on error", async (t) => {
  const metrics = metricsFor(t);
  let samples = await scrape(metrics);
  for (const result of ["published", "unchanged", "error"]) assert.equal(valueOf(samples, "turnout_reloads_total", { result }), 0, result);

  publishRebuild({ result: "published", durationSeconds: 0.004, generation: 3, routes: 12, backends: 5, endpoints: 20, applyLatencySeconds: 0.3 });
  publishRebuild({ result: "unchanged", durationSeconds: 0.002, generation: 3, routes: 12, backends: 5, endpoints: 20, applyLatencySeconds: 0.1 });
  publishRebuild({ result: "error", durationSeconds: 0.001, generation: 0, routes: 0, backends: 0, endpoints: 0 });
  samples = await scrape(metrics);

  assert.equal(valueOf(samples, "turnout_reloads_total", { result: "published" }), 1);
  assert.equal(valueOf(samples, "turnout_reloads_total", { result: "unchanged" }), 1);
  assert.equal(valueOf(samples, "turnout_reloads_total", { result: "error" }), 1);
  assert.equal(valueOf(samples, "turnout_rebuild_duration_seconds_count"), 3);
  assert.equal(valueOf(samples, "turnout_config_generation"), 3);
  assert.equal(valueOf(samples, "turnout_routes"), 12);
  assert.equal(valueOf(samples, "turnout_backends"), 5);
  // Only a publish makes a change serve: the unchanged rebuild's latency is not observed.
  assert.equal(valueOf(samples, "turnout_config_apply_latency_seconds_count"), 1);
  assert.equal(valueOf(samples, "turnout_config_apply_latency_seconds_bucket", { le: "0.25" }), 0);
  assert.equal(valueOf(samples, "turnout_config_apply_latency_seconds_bucket", { le: "0.5" }), 1);
});

test("informer restarts and API errors count per resource; last sync keeps the latest time", async (t) => {
  const metrics = metricsFor(t);
  publishWatchRestart({ resource: "ingresses", error: "connection reset" });
  publishWatchRestart({ resource: "ingresses", error: "connection reset" });
  publishApiError({ resource: "ingresses/status", status: 409, message: "conflict" });
  publishSync({ resource: "services", timestampSeconds: 1_700_000_100 });
  publishSync({ resource: "ingresses", timestampSeconds: 1_700_000_000 });
  const samples = await scrape(metrics);

  assert.equal(valueOf(samples, "turnout_watch_restarts_total", { resource: "ingresses" }), 2);
  assert.equal(valueOf(samples, "turnout_apiserver_errors_total", { resource: "ingresses/status" }), 1);
  assert.equal(valueOf(samples, "turnout_last_sync_timestamp_seconds"), 1_700_000_100);
});

test("endpoint and diagnostic gauges are read from the callbacks at every scrape", async (t) => {
  let endpoints: EndpointStateCount[] = [
    { service: "shop/web:80", state: "healthy", count: 3 },
    { service: "shop/web:80", state: "ejected", count: 1 },
    { service: "shop/web:80", state: "healthy", count: 2 },
    { service: "shop/api:8080", state: "terminating", count: 1 },
  ];
  let diagnostics = [{ reason: "ServiceNotFound" }, { reason: "ServiceNotFound" }, { reason: "PathConflict" }];
  const metrics = metricsFor(t, { collectEndpoints: () => endpoints, collectDiagnostics: () => diagnostics });
  let samples = await scrape(metrics);

  assert.equal(valueOf(samples, "turnout_endpoints", { service: "shop/web:80", state: "healthy" }), 5);
  assert.equal(valueOf(samples, "turnout_endpoints", { service: "shop/web:80", state: "ejected" }), 1);
  assert.equal(valueOf(samples, "turnout_endpoints", { service: "shop/api:8080", state: "terminating" }), 1);
  assert.equal(valueOf(samples, "turnout_diagnostics", { reason: "ServiceNotFound" }), 2);
  assert.equal(valueOf(samples, "turnout_diagnostics", { reason: "PathConflict" }), 1);

  endpoints = [{ service: "shop/web:80", state: "unhealthy", count: 4 }];
  diagnostics = [];
  samples = await scrape(metrics);
  assert.deepEqual(
    samples.filter((s) => s.name === "turnout_endpoints").map((s) => [s.labels.service, s.labels.state, s.value]),
    [["shop/web:80", "unhealthy", 4]],
  );
  assert.equal(samples.filter((s) => s.name === "turnout_diagnostics").length, 0);
});

test("after close, events no longer count and the channels have no subscriber left", async (t) => {
  const metrics = metricsFor(t);
  publishRequestEnd(requestEnd());
  metrics.close();
  publishRequestEnd(requestEnd());
  publishRebuild({ result: "published", durationSeconds: 0.01, generation: 9, routes: 1, backends: 1, endpoints: 1 });
  const samples = await scrape(metrics);

  assert.equal(valueOf(samples, "turnout_requests_total", { ...SHOP, method: "GET", code: "200" }), 1);
  assert.equal(valueOf(samples, "turnout_config_generation"), 0);
  assert.equal(channels.requestEnd.hasSubscribers, false);
  assert.equal(channels.rebuild.hasSubscribers, false);
});

test("malformed payloads are sanitised, never thrown", async (t) => {
  const metrics = metricsFor(t);
  const garbage = { namespace: 7, ingress: null, method: undefined, code: "abc", durationSeconds: Number.NaN, bytesIn: -5, bytesOut: "x" };
  channels.requestEnd.publish(garbage);
  channels.requestEnd.publish(null);
  channels.rebuild.publish({ result: "bogus" });
  channels.connection.publish({ listener: "ftp", state: "open" });
  channels.upstreamAttempt.publish({ service: "s", outcome: "exploded" });
  // A throwing handler would surface as an uncaught exception on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  const samples = await scrape(metrics);

  const none = { namespace: "", ingress: "", service: "" };
  assert.equal(valueOf(samples, "turnout_requests_total", { ...none, method: "OTHER", code: "0" }), 1);
  assert.equal(valueOf(samples, "turnout_request_duration_seconds_count", { ...none, method: "OTHER" }), undefined);
  assert.equal(valueOf(samples, "turnout_reloads_total", { result: "bogus" }), undefined);
  assert.equal(valueOf(samples, "turnout_active_connections", { listener: "ftp" }), undefined);
  assert.equal(samples.filter((s) => s.name === "turnout_upstream_errors_total").length, 0);
});

test("default Node process metrics are registered unless turned off", async (t) => {
  const withDefaults = createMetrics();
  t.after(() => withDefaults.close());
  const names = new Set((await scrape(withDefaults)).map((s) => s.name));
  assert.ok(names.has("process_cpu_user_seconds_total"));
  assert.ok([...names].some((n) => n.startsWith("nodejs_")));
  assert.match(withDefaults.contentType, /^text\/plain/);

  const without = metricsFor(t);
  assert.ok(!(await scrape(without)).some((s) => s.name === "process_cpu_user_seconds_total" || s.name.startsWith("nodejs_")));
});

// docs/metrics.md rows: | `name` | type | `label`, `label` (or —) | meaning |
const doc = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");
const documented = new Map(
  [...doc.matchAll(/^\| `(turnout_[a-z_]+)` \| (counter|gauge|histogram) \| ([^|]*) \|/gm)].map((m) => [
    m[1] ?? "",
    { type: m[2] ?? "", labels: [...(m[3] ?? "").matchAll(/`([a-z_]+)`/g)].map((l) => l[1] ?? "") },
  ]),
);

test("every metric is documented in docs/metrics.md with its type and labels", () => {
  for (const definition of Object.values(METRIC_DEFINITIONS)) {
    const entry = documented.get(definition.name);
    assert.ok(entry, `${definition.name} is missing from docs/metrics.md`);
    assert.equal(entry.type, definition.type, `${definition.name}: type differs in docs/metrics.md`);
    assert.deepEqual(entry.labels, [...definition.labelNames], `${definition.name}: labels differ in docs/metrics.md`);
  }
});

test("docs/metrics.md lists no metric the registry lacks, and the registry has no undocumented one", async (t) => {
  const metrics = metricsFor(t);
  const exposed = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith("turnout_"));
  assert.deepEqual(new Set(exposed), new Set(documented.keys()));
  assert.equal(exposed.length, Object.keys(METRIC_DEFINITIONS).length);
});

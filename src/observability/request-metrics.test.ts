// The request metrics' plain cells must scrape exactly as prom-client's own
// Counter and Histogram would, updated directly with the same request ends: same
// text, same JSON (what workers send), same aggregate across workers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Histogram, Registry } from "prom-client";
import type { RequestEndEvent } from "./events.ts";
import { METRIC_DEFINITIONS } from "./metric-definitions.ts";
import { labelValue, nonNegative, normaliseMethod, statusLabel } from "./metric-labels.ts";
import { aggregateMetrics } from "./metrics.ts";
import { RequestMetrics } from "./request-metrics.ts";
import { seededRandom } from "../balancer/seeded-random.ts";

const ROUTES = [
  { namespace: "shop", ingress: "web", service: "shop/web:80" },
  { namespace: "shop", ingress: "api", service: "shop/web:80" },
  { namespace: "blog", ingress: "web", service: "blog/web:8080" },
  { namespace: "", ingress: "", service: "" },
];
const METHODS = ["GET", "GET", "GET", "POST", "HEAD", "PROPFIND", "get"];
const CODES = [200, 200, 200, 404, 503, 302, 99, 200.5];
/** Durations across every bucket, on bucket bounds, zero, and invalid ones that must not be observed. */
const DURATIONS = [0, 0.001, 0.005, 0.0051, 0.03, 0.25, 1, 7, 10, 12.5, -1, Number.NaN];

function randomEvents(count: number, random: () => number): RequestEndEvent[] {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  return Array.from({ length: count }, () => {
    const upstream = pick([...DURATIONS, undefined, undefined]);
    return {
      ...pick(ROUTES),
      method: pick(METHODS),
      code: pick(CODES),
      durationSeconds: pick(DURATIONS),
      ...(upstream !== undefined ? { upstreamSeconds: upstream } : {}),
      bytesIn: pick([0, 0, 120, 4096, -3]),
      bytesOut: pick([0, 3, 900, 65_536]),
    };
  });
}

/** The reference: prom-client's metrics updated per request, as turnout did before the cells. */
function directRegistry(events: readonly RequestEndEvent[]): Registry {
  const registry = new Registry();
  const d = METRIC_DEFINITIONS;
  const requests = new Counter({ name: d.requests.name, help: d.requests.help, labelNames: d.requests.labelNames, registers: [registry] });
  const histogram = (def: typeof d.requestDuration | typeof d.upstreamDuration): Histogram =>
    new Histogram({ name: def.name, help: def.help, labelNames: def.labelNames, buckets: [...def.buckets], registers: [registry] });
  const duration = histogram(d.requestDuration);
  const upstream = histogram(d.upstreamDuration);
  const bytesIn = new Counter({ name: d.requestBytes.name, help: d.requestBytes.help, labelNames: d.requestBytes.labelNames, registers: [registry] });
  const bytesOut = new Counter({ name: d.responseBytes.name, help: d.responseBytes.help, labelNames: d.responseBytes.labelNames, registers: [registry] });
  for (const e of events) {
    const route = { namespace: labelValue(e.namespace), ingress: labelValue(e.ingress), service: labelValue(e.service) };
    const withMethod = { ...route, method: normaliseMethod(e.method) };
    requests.inc({ ...withMethod, code: statusLabel(e.code) });
    const seconds = nonNegative(e.durationSeconds);
    if (seconds !== undefined) duration.observe(withMethod, seconds);
    const upstreamSeconds = nonNegative(e.upstreamSeconds);
    if (upstreamSeconds !== undefined) upstream.observe(route, upstreamSeconds);
    const received = nonNegative(e.bytesIn);
    if (received) bytesIn.inc(route, received);
    const sent = nonNegative(e.bytesOut);
    if (sent) bytesOut.inc(route, sent);
  }
  return registry;
}

function cellsRegistry(events: readonly RequestEndEvent[]): Registry {
  const registry = new Registry();
  const metrics = new RequestMetrics(registry);
  for (const e of events) metrics.record(e);
  return registry;
}

test("the cells scrape as the same text and JSON as direct prom-client updates", async () => {
  for (const seed of [1, 2, 3]) {
    const events = randomEvents(2000, seededRandom(seed));
    const direct = directRegistry(events);
    const cells = cellsRegistry(events);
    assert.equal(await cells.metrics(), await direct.metrics(), `text, seed ${seed}`);
    assert.deepEqual(await cells.getMetricsAsJSON(), await direct.getMetricsAsJSON(), `JSON, seed ${seed}`);
  }
});

test("workers' cells aggregate as workers' prom-client metrics do", async () => {
  const random = seededRandom(7);
  const workers = [randomEvents(500, random), randomEvents(800, random)];
  const fromCells = await aggregateMetrics(await Promise.all(workers.map((events) => cellsRegistry(events).getMetricsAsJSON())));
  const fromDirect = await aggregateMetrics(await Promise.all(workers.map((events) => directRegistry(events).getMetricsAsJSON())));
  assert.equal(fromCells, fromDirect);
  assert.match(fromCells, /^turnout_requests_total\{namespace="shop",ingress="web",service="shop\/web:80",method="GET",code="200"\} \d+$/m);
});

test("before any request the five metrics are declared with no series", async () => {
  const text = await cellsRegistry([]).metrics();
  for (const name of ["turnout_requests_total", "turnout_request_duration_seconds", "turnout_upstream_response_duration_seconds", "turnout_request_bytes_total", "turnout_response_bytes_total"]) {
    assert.match(text, new RegExp(`^# TYPE ${name} (counter|histogram)$`, "m"));
  }
  assert.equal(text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length, 0);
});

// Counters of exited workers stay in the aggregate, so the pod's totals never go
// backwards when a worker is replaced; their gauges go with them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { aggregateMetrics } from "../observability/metrics.ts";
import type { MetricsSnapshot } from "../observability/metrics.ts";
import { retireMetrics } from "./retired-metrics.ts";

/** A worker's registry: a labelled counter, a histogram and a gauge, as turnout's metrics have. */
function worker(requests: Record<string, number>, durations: number[], connections: number): Promise<MetricsSnapshot> {
  const registry = new Registry();
  const counter = new Counter({ name: "requests_total", help: "h", labelNames: ["code"], registers: [registry] });
  const histogram = new Histogram({ name: "duration_seconds", help: "h", buckets: [0.1, 1], registers: [registry] });
  const gauge = new Gauge({ name: "open_connections", help: "h", registers: [registry] });
  for (const [code, count] of Object.entries(requests)) counter.inc({ code }, count);
  for (const d of durations) histogram.observe(d);
  gauge.set(connections);
  return registry.getMetricsAsJSON();
}

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("retired counters and histograms are summed series by series; gauges are dropped", async () => {
  let retired = retireMetrics([], await worker({ 200: 5, 503: 1 }, [0.05, 2], 7));
  retired = retireMetrics(retired, await worker({ 200: 3 }, [0.5], 9));
  const text = await aggregateMetrics([retired]);
  assert.equal(sample(text, 'requests_total{code="200"}'), 8);
  assert.equal(sample(text, 'requests_total{code="503"}'), 1);
  assert.equal(sample(text, 'duration_seconds_bucket{le="0.1"}'), 1);
  assert.equal(sample(text, 'duration_seconds_bucket{le="1"}'), 2);
  assert.equal(sample(text, "duration_seconds_count"), 3);
  assert.equal(sample(text, "duration_seconds_sum"), 2.55);
  assert.equal(sample(text, "open_connections"), undefined);
});

test("across a worker's replacement the aggregated total does not drop; live gauges still sum", async () => {
  const lastScrapeOfA = await worker({ 200: 100 }, [], 4);
  const b = await worker({ 200: 40 }, [], 3);
  const before = await aggregateMetrics([lastScrapeOfA, b]);
  assert.equal(sample(before, 'requests_total{code="200"}'), 140);
  assert.equal(sample(before, "open_connections"), 7);
  // A dies; its replacement A' starts from zero.
  const retired = retireMetrics([], lastScrapeOfA);
  const replacement = await worker({ 200: 2 }, [], 1);
  const after = await aggregateMetrics([replacement, await worker({ 200: 45 }, [], 3), retired]);
  assert.equal(sample(after, 'requests_total{code="200"}'), 147);
  assert.equal(sample(after, "open_connections"), 4);
});

test("retiring does not modify its inputs", async () => {
  const exited = await worker({ 200: 1 }, [], 0);
  const first = retireMetrics([], exited);
  const copy = structuredClone(first);
  retireMetrics(first, exited);
  assert.deepEqual(first, copy);
});

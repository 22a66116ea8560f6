// EndpointLoadTracker: in-flight counts and the peak-EWMA latency model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decayWeight, EndpointLoadTracker, FAILED_ATTEMPT_LATENCY_MS, latencySample, MIN_SAMPLE_WEIGHT } from "./endpoint-load.ts";

const A = "10.0.0.1:8080";
const B = "10.0.0.2:8080";
const TAU = 1_000;

function near(actual: number | undefined, expected: number, message?: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, message ?? `${actual} != ${expected}`);
}

/** One completed request: begin then end, as the proxy reports it. */
function sample(load: EndpointLoadTracker, address: string, latencyMs: number, now: number, decayMs = TAU): void {
  load.begin(address);
  load.end(address, latencyMs, decayMs, now);
}

void test("outstanding counts begins minus ends, never below zero", () => {
  const load = new EndpointLoadTracker();
  assert.equal(load.outstanding(A), 0);
  load.begin(A);
  load.begin(A);
  load.begin(B);
  assert.equal(load.outstanding(A), 2);
  assert.equal(load.outstanding(B), 1);
  load.end(A, 5, TAU, 0);
  load.end(A, 5, TAU, 0);
  load.end(A, 5, TAU, 0);
  assert.equal(load.outstanding(A), 0);
  assert.equal(load.outstanding(B), 1);
});

void test("latency is undefined before the first sample, then the first sample itself", () => {
  const load = new EndpointLoadTracker();
  assert.equal(load.latencyMs(A, 0), undefined);
  load.begin(A);
  assert.equal(load.latencyMs(A, 0), undefined);
  load.end(A, 12, TAU, 100);
  near(load.latencyMs(A, 100), 12);
});

void test("a sample above the estimate replaces it at once (peak)", () => {
  const load = new EndpointLoadTracker();
  sample(load, A, 10, 0);
  sample(load, A, 100, 1);
  near(load.latencyMs(A, 1), 100);
});

void test("while idle the estimate decays toward zero by e per time constant", () => {
  const load = new EndpointLoadTracker();
  sample(load, A, 100, 0);
  near(load.latencyMs(A, TAU), 100 / Math.E);
  near(load.latencyMs(A, 2 * TAU), 100 / Math.E ** 2);
  near(load.latencyMs(A, TAU / 2), 100 * Math.exp(-0.5));
  // Reading does not change the state.
  near(load.latencyMs(A, TAU), 100 / Math.E);
});

void test("a lower sample pulls the decayed estimate toward it with weight 1 - exp(-elapsed/decay)", () => {
  const load = new EndpointLoadTracker();
  sample(load, A, 100, 0);
  sample(load, A, 10, TAU);
  const w = Math.exp(-1);
  const decayed = 100 * w;
  near(load.latencyMs(A, TAU), decayed * w + 10 * (1 - w));
  // Shortly after a sample, time alone would give a lower one almost no weight; it gets MIN_SAMPLE_WEIGHT.
  const busy = new EndpointLoadTracker();
  sample(busy, B, 50, 0);
  sample(busy, B, 1, 1);
  const decayedBusy = 50 * Math.exp(-1 / TAU);
  near(busy.latencyMs(B, 1), decayedBusy + (1 - decayedBusy) * MIN_SAMPLE_WEIGHT);
});

void test("at 500 answers a second a 30 ms spike fades below 2 ms within 100 answers, not seconds", () => {
  const load = new EndpointLoadTracker();
  const decayMs = 10_000;
  let t = 0;
  for (; t < 1_000; t += 2) sample(load, A, 1, t, decayMs);
  sample(load, A, 30, t, decayMs);
  for (let answers = 0; answers < 100; answers++) sample(load, A, 1, (t += 2), decayMs);
  const estimate = load.latencyMs(A, t)!;
  assert.ok(estimate < 2, `estimate ${estimate} ms 100 answers after the spike`);
});

void test("samples at a steady latency keep the estimate at that latency", () => {
  const load = new EndpointLoadTracker();
  for (let t = 0; t <= 10_000; t += 10) sample(load, A, 20, t);
  near(load.latencyMs(A, 10_000), 20);
});

void test("after a drop from 50 ms to 1 ms the estimate falls below 2 ms within a few time constants", () => {
  const load = new EndpointLoadTracker();
  for (let t = 0; t < 1_000; t += 10) sample(load, A, 50, t);
  let t = 1_000;
  for (; t < 1_000 + 5 * TAU; t += 10) sample(load, A, 1, t);
  const estimate = load.latencyMs(A, t)!;
  assert.ok(estimate < 2, `estimate ${estimate}`);
});

void test("forget drops the latency at once and the entry once the requests in flight end; a late end does not revive it", () => {
  const load = new EndpointLoadTracker();
  sample(load, A, 30, 0);
  load.begin(A);
  load.forget(A);
  assert.equal(load.latencyMs(A, 0), undefined);
  assert.equal(load.outstanding(A), 1, "the request in flight is still in flight");
  load.end(A, 30, TAU, 5);
  assert.equal(load.latencyMs(A, 5), undefined, "the old pod's latency is no sample");
  assert.deepEqual(load.snapshot(5), []);
  load.end(A, 30, TAU, 6);
  assert.deepEqual(load.snapshot(6), []);
});

void test("an address that leaves and returns while an old request is in flight: the new pod's requests are not undercounted", () => {
  const load = new EndpointLoadTracker();
  load.begin(A);
  load.forget(A);
  load.begin(A);
  load.begin(A);
  load.end(A, 30, TAU, 5);
  assert.equal(load.outstanding(A), 2, "three begun, one ended");
  load.end(A, 10, TAU, 6);
  load.end(A, 10, TAU, 7);
  assert.equal(load.outstanding(A), 0);
});

void test("invalid samples and decay settings degrade instead of producing NaN", () => {
  const load = new EndpointLoadTracker();
  load.begin(A);
  load.end(A, Number.NaN, TAU, 0);
  load.begin(A);
  load.end(A, -5, TAU, 0);
  assert.equal(load.latencyMs(A, 0), undefined);
  assert.equal(load.outstanding(A), 0);
  // Decay 0 (or negative): the latest sample stands and does not decay while idle.
  sample(load, B, 40, 0, 0);
  sample(load, B, 10, 100, 0);
  near(load.latencyMs(B, 5_000), 10);
  sample(load, B, 15, 200, -1);
  near(load.latencyMs(B, 5_000), 15);
  // A clock that steps back counts as no time passed.
  assert.equal(decayWeight(-50, TAU), 1);
  assert.equal(decayWeight(Number.NaN, TAU), 1);
  assert.equal(decayWeight(TAU, Infinity), 1);
});

void test("snapshot lists every endpoint by address with decayed latencies", () => {
  const load = new EndpointLoadTracker();
  load.begin(B);
  sample(load, A, 100, 0);
  assert.deepEqual(load.snapshot(TAU).map((entry) => ({ ...entry, latencyMs: entry.latencyMs?.toFixed(6) })), [
    { address: A, outstanding: 0, latencyMs: (100 / Math.E).toFixed(6), lastSampleAt: 0 },
    { address: B, outstanding: 1, latencyMs: undefined, lastSampleAt: undefined },
  ]);
});

void test("a failed attempt's latency sample is at least FAILED_ATTEMPT_LATENCY_MS; a success's is what it took", () => {
  assert.equal(latencySample(2, true), FAILED_ATTEMPT_LATENCY_MS);
  assert.equal(latencySample(5_000, true), 5_000);
  assert.equal(latencySample(2, false), 2);
});

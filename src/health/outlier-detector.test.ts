// OutlierDetector: consecutive failures eject, growing ejection times, the ejected-fraction cap.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EndpointSlice } from "../store/objects.ts";
import type { BackendRef } from "../routing/route-table.ts";
import { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { AttemptOutcome, EjectionEvent, EjectionSkippedEvent } from "./outlier-detector.ts";
import { ejectionDurationMs, maxEjected, OutlierDetector } from "./outlier-detector.ts";

const WEB: BackendRef = { key: "shop/web:80", namespace: "shop", service: "web", port: 80, portName: "http" };
const POLICY = { maxFails: 3, failOn5xx: false };
const A = "10.0.0.1:8080";
const B = "10.0.0.2:8080";

function webSlice(count: number, name = "web-1"): EndpointSlice {
  return {
    kind: "EndpointSlice",
    meta: { namespace: "shop", name, uid: name, resourceVersion: "1", generation: 1, creationTimestamp: "", labels: {}, annotations: {} },
    serviceName: "web",
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: Array.from({ length: count }, (_, i) => ({
      addresses: [`10.0.0.${i + 1}`],
      conditions: { ready: true, serving: true, terminating: false },
    })),
  };
}

function setup(endpoints = 4): {
  registry: EndpointRegistry;
  detector: OutlierDetector;
  clock: { now: number };
  ejections: EjectionEvent[];
  skipped: EjectionSkippedEvent[];
} {
  const clock = { now: 1_000_000 };
  const registry = new EndpointRegistry({ now: () => clock.now });
  registry.applySlice(webSlice(endpoints));
  const detector = new OutlierDetector({ registry });
  const ejections: EjectionEvent[] = [];
  const skipped: EjectionSkippedEvent[] = [];
  detector.addListener({ ejected: (e) => ejections.push(e), ejectionSkipped: (e) => skipped.push(e) });
  return { registry, detector, clock, ejections, skipped };
}

function fail(detector: OutlierDetector, address: string, times: number, outcome: AttemptOutcome = "connect-failure", policy = POLICY): void {
  for (let i = 0; i < times; i++) detector.report(address, WEB, outcome, policy);
}

const usable = (registry: EndpointRegistry): string[] => registry.endpointSet(WEB).usable.map((e) => e.address);

for (const outcome of ["connect-failure", "reset", "timeout"] as const) {
  void test(`${outcome}: maxFails in a row eject the endpoint, one fewer does not`, () => {
    const { registry, detector } = setup();
    fail(detector, A, 2, outcome);
    assert.equal(registry.isEjected(A), false);
    assert.ok(usable(registry).includes(A));
    fail(detector, A, 1, outcome);
    assert.equal(registry.isEjected(A), true);
    assert.ok(!usable(registry).includes(A));
    assert.deepEqual(detector.stats(), { ejectionsTotal: 1, ejectionsSkippedTotal: 0 });
  });
}

void test("a success resets the consecutive-failure count", () => {
  const { registry, detector } = setup();
  fail(detector, A, 2);
  detector.report(A, WEB, "success", POLICY);
  fail(detector, A, 2);
  assert.equal(registry.isEjected(A), false);
  fail(detector, A, 1);
  assert.equal(registry.isEjected(A), true);
});

void test("5xx counts as a failure only with failOn5xx; otherwise it resets the count like a success", () => {
  const { registry, detector } = setup();
  fail(detector, A, 5, "5xx");
  assert.equal(registry.isEjected(A), false);
  fail(detector, A, 2);
  fail(detector, A, 1, "5xx");
  fail(detector, A, 2);
  assert.equal(registry.isEjected(A), false, "the 5xx broke the streak");
  const strict = { maxFails: 3, failOn5xx: true };
  fail(detector, B, 3, "5xx", strict);
  assert.equal(registry.isEjected(B), true);
});

void test("maxFails comes from the reporting route's policy", () => {
  const { registry, detector } = setup();
  fail(detector, A, 1, "reset", { maxFails: 1, failOn5xx: false });
  assert.equal(registry.isEjected(A), true);
});

void test("ejection time grows 30 s, 60 s, 90 s ... and is capped at 5 min; the endpoint returns after each", () => {
  const { registry, detector, clock, ejections } = setup();
  const durations: number[] = [];
  for (let round = 1; round <= 12; round++) {
    fail(detector, A, 3);
    const event = ejections.at(-1)!;
    assert.equal(event.ejections, round);
    durations.push(event.durationMs);
    assert.equal(event.until, clock.now + event.durationMs);
    clock.now = event.until - 1;
    assert.ok(!usable(registry).includes(A), "still ejected just before the end");
    clock.now = event.until;
    assert.ok(usable(registry).includes(A), "tried again once the ejection ends");
  }
  assert.deepEqual(durations, [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300].map((s) => s * 1_000));
});

void test("failures reported while ejected neither count nor extend the ejection", () => {
  const { registry, detector, clock, ejections } = setup();
  fail(detector, A, 3);
  fail(detector, A, 10);
  assert.equal(ejections.length, 1);
  clock.now = ejections[0]!.until;
  assert.equal(registry.isEjected(A), false);
  fail(detector, A, 2);
  assert.equal(registry.isEjected(A), false, "the count restarted after the ejection");
});

void test("the ejection count decays by one per base time spent not ejected", () => {
  const { detector, clock, ejections } = setup();
  fail(detector, A, 3); // 1st: 30 s
  clock.now = ejections.at(-1)!.until;
  fail(detector, A, 3); // 2nd right after: 60 s
  assert.equal(ejections.at(-1)!.durationMs, 60_000);
  clock.now = ejections.at(-1)!.until + 30_000; // one uneventful base period: count 2 -> 1
  fail(detector, A, 3);
  assert.equal(ejections.at(-1)!.ejections, 2);
  assert.equal(ejections.at(-1)!.durationMs, 60_000);
  clock.now = ejections.at(-1)!.until + 29_999; // not quite a full period: no decay
  fail(detector, A, 3);
  assert.equal(ejections.at(-1)!.durationMs, 90_000);
  clock.now = ejections.at(-1)!.until + 10 * 30_000; // long quiet: fully forgiven
  fail(detector, A, 3);
  assert.equal(ejections.at(-1)!.ejections, 1);
  assert.equal(ejections.at(-1)!.durationMs, 30_000);
});

void test("at most half of a backend's endpoints are ejected at once (rounded down)", () => {
  const { registry, detector, skipped } = setup(5);
  for (let i = 1; i <= 5; i++) fail(detector, `10.0.0.${i}:8080`, 3);
  assert.deepEqual(registry.unhealthyAddresses().map((e) => e.address), ["10.0.0.1:8080", "10.0.0.2:8080"]);
  assert.equal(usable(registry).length, 3);
  assert.deepEqual(skipped.map((e) => [e.address, e.ejected, e.maxEjected]), [
    ["10.0.0.3:8080", 2, 2],
    ["10.0.0.4:8080", 2, 2],
    ["10.0.0.5:8080", 2, 2],
  ]);
  assert.deepEqual(detector.stats(), { ejectionsTotal: 2, ejectionsSkippedTotal: 3 });
});

void test("an endpoint refused for the cap is ejected on its next failure once room frees up", () => {
  const { registry, detector, clock, ejections } = setup(2);
  fail(detector, A, 3);
  fail(detector, B, 3);
  assert.equal(registry.isEjected(B), false);
  clock.now = ejections[0]!.until;
  fail(detector, B, 1);
  assert.equal(registry.isEjected(B), true);
});

void test("a backend with a single endpoint never ejects it", () => {
  const { registry, detector } = setup(1);
  fail(detector, A, 50);
  assert.equal(registry.isEjected(A), false);
  assert.deepEqual(usable(registry), [A]);
});

void test("maxEjected and ejectionDurationMs", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((n) => maxEjected(n, 0.5)), [0, 0, 1, 1, 2, 2, 5]);
  assert.equal(ejectionDurationMs(1, 30_000, 300_000), 30_000);
  assert.equal(ejectionDurationMs(4, 30_000, 300_000), 120_000);
  assert.equal(ejectionDurationMs(99, 30_000, 300_000), 300_000);
});

void test("state of an endpoint that left every slice is forgotten", () => {
  const { registry, detector, ejections } = setup(4);
  fail(detector, A, 3);
  assert.equal(ejections.at(-1)!.ejections, 1);
  registry.deleteSlice(webSlice(0));
  registry.applySlice(webSlice(4));
  assert.equal(registry.isEjected(A), false, "the returning address starts healthy");
  fail(detector, A, 2);
  assert.equal(registry.isEjected(A), false, "the old failure count is gone");
  fail(detector, A, 1);
  assert.equal(ejections.at(-1)!.ejections, 1, "the old ejection count is gone");
});

void test("failures of requests still in flight when their endpoint left leave no streak for a new pod with its IP", () => {
  const { registry, detector } = setup(4);
  registry.applySlice(webSlice(0));
  // Requests that were in flight to the deleted pod fail after the slice update.
  fail(detector, A, 2);
  registry.applySlice(webSlice(4));
  fail(detector, A, 2);
  assert.equal(registry.isEjected(A), false, "the new pod is ejected only after its own maxFails failures");
  fail(detector, A, 1);
  assert.equal(registry.isEjected(A), true);
});

void test("a report for an address no slice names ejects nothing", () => {
  const { registry, detector } = setup(4);
  fail(detector, "10.9.9.9:8080", 10);
  assert.deepEqual(registry.unhealthyAddresses(), []);
  assert.equal(detector.stats().ejectionsTotal, 0);
});

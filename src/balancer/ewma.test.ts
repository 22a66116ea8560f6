// Peak-EWMA balancing: slow endpoints are avoided, new ones probed but not flooded,
// and a slow endpoint is tried again once its estimate has decayed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EndpointLoadTracker } from "../endpoints/endpoint-load.ts";
import { EwmaBalancer, MIN_COST_LATENCY_MS, pairCosts } from "./ewma.ts";
import { seededRandom } from "./seeded-random.ts";
import { makeEndpoints } from "./test-endpoints.ts";

const DECAY_MS = 10_000;

void test("pair costs: latency x (in flight + 1); a missing sample borrows the rival's latency", () => {
  assert.deepEqual(pairCosts(10, 2, 4, 0), [30, 4]);
  assert.deepEqual(pairCosts(undefined, 1, 8, 3), [16, 32]);
  assert.deepEqual(pairCosts(8, 3, undefined, 1), [32, 16]);
  assert.deepEqual(pairCosts(undefined, 2, undefined, 0), [3, 1]);
  // A 0 ms estimate is floored, so the queue still counts.
  assert.deepEqual(pairCosts(0, 4, 0, 1), [MIN_COST_LATENCY_MS * 5, MIN_COST_LATENCY_MS * 2]);
});

/**
 * Three endpoints behind an EwmaBalancer on a simulated clock, the first one `slow`.
 * `runUntil` sends two requests per simulated millisecond until `toMs`, each taking
 * `latencyOf(address)` ms, and returns the picks per address in that stretch.
 */
function simulation(seed: number) {
  const endpoints = makeEndpoints(3);
  const slow = endpoints[0]!.address;
  let now = 0;
  const load = new EndpointLoadTracker();
  const balancer = new EwmaBalancer(endpoints, seededRandom(seed), () => now, load);
  const inFlight: { address: string; doneAt: number; startedAt: number }[] = [];
  const runUntil = (toMs: number, latencyOf: (address: string) => number): Map<string, number> => {
    const counts = new Map<string, number>();
    while (now < toMs) {
      now += 0.5;
      for (let k = inFlight.length - 1; k >= 0; k--) {
        const request = inFlight[k]!;
        if (request.doneAt <= now) {
          load.end(request.address, request.doneAt - request.startedAt, DECAY_MS, now);
          inFlight.splice(k, 1);
        }
      }
      const endpoint = balancer.pick({})!;
      counts.set(endpoint.address, (counts.get(endpoint.address) ?? 0) + 1);
      load.begin(endpoint.address);
      inFlight.push({ address: endpoint.address, startedAt: now, doneAt: now + latencyOf(endpoint.address) });
    }
    return counts;
  };
  return { endpoints, slow, runUntil };
}

void test("an endpoint at 50 ms next to two at 1 ms gets under 10% of the traffic", () => {
  const { endpoints, slow, runUntil } = simulation(1);
  const counts = runUntil(10_000, (address) => (address === slow ? 50 : 1));
  const requests = 20_000;
  const slowShare = (counts.get(slow) ?? 0) / requests;
  assert.ok(slowShare < 0.1, `slow endpoint share ${slowShare}`);
  // The fast two share the rest about evenly.
  for (const endpoint of endpoints.slice(1)) {
    assert.ok((counts.get(endpoint.address) ?? 0) / requests > 0.4);
  }
});

void test("after a second in which every endpoint answered in 30 ms, the 50 ms one is avoided again within 0.2 s", () => {
  const { slow, runUntil } = simulation(4);
  const normal = (address: string): number => (address === slow ? 50 : 1);
  runUntil(5_000, normal);
  // An overload (a burst, a stall of the machine): the fast endpoints answer in 30 ms too.
  runUntil(6_000, (address) => Math.max(30, normal(address)));
  runUntil(6_200, normal);
  // Each fast endpoint has answered some 200 requests since; the spike is forgotten.
  const slowPicks = runUntil(9_200, normal).get(slow) ?? 0;
  assert.ok(slowPicks <= 3, `the slow endpoint got ${slowPicks} of 6,000 requests in the 3 s after the spike`);
});

void test("a new endpoint without samples is probed but not flooded", () => {
  const endpoints = makeEndpoints(3);
  const fresh = endpoints[2]!;
  const load = new EndpointLoadTracker();
  const now = 1_000;
  for (const endpoint of endpoints.slice(0, 2)) {
    load.begin(endpoint.address);
    load.end(endpoint.address, 10, DECAY_MS, now);
  }
  const balancer = new EwmaBalancer(endpoints, seededRandom(2), () => now, load);
  // Nothing completes: every pick adds to its endpoint's queue.
  let freshPicks = 0;
  for (let i = 0; i < 300; i++) {
    const endpoint = balancer.pick({})!;
    load.begin(endpoint.address);
    if (endpoint === fresh) freshPicks += 1;
  }
  // Compared on queue length alone it gets about a third; never most of the traffic.
  assert.ok(freshPicks >= 60 && freshPicks <= 140, `fresh endpoint got ${freshPicks} of 300`);
});

void test("a slow endpoint is tried again once its estimate has decayed below the others'", () => {
  const [slow, fast] = makeEndpoints(2);
  const load = new EndpointLoadTracker();
  let now = 0;
  load.begin(slow!.address);
  load.end(slow!.address, 50, 1_000, now);
  load.begin(fast!.address);
  load.end(fast!.address, 1, 1_000, now);
  const balancer = new EwmaBalancer([slow!, fast!], seededRandom(3), () => now, load);
  assert.equal(balancer.pick({}), fast);
  // Four time constants later, with fresh 1 ms samples for the fast endpoint only,
  // the slow one's estimate is 50 * e^-4 ~ 0.92 ms: it is now the cheaper choice.
  now = 4_000;
  load.begin(fast!.address);
  load.end(fast!.address, 1, 1_000, now);
  assert.equal(balancer.pick({}), slow);
});

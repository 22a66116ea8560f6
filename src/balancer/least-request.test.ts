// Least request (power of two choices): pick probabilities follow from the pairs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EndpointLoadTracker } from "../endpoints/endpoint-load.ts";
import { LeastRequestBalancer, twoDistinctIndices } from "./least-request.ts";
import { seededRandom } from "./seeded-random.ts";
import { makeEndpoints } from "./test-endpoints.ts";

function trackerWith(outstanding: Map<string, number>): EndpointLoadTracker {
  const load = new EndpointLoadTracker();
  for (const [address, count] of outstanding) for (let i = 0; i < count; i++) load.begin(address);
  return load;
}

function pickCounts(balancer: LeastRequestBalancer, picks: number, attempted?: ReadonlySet<string>): Map<string, number> {
  const result = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const address = balancer.pick(attempted === undefined ? {} : { attempted })!.address;
    result.set(address, (result.get(address) ?? 0) + 1);
  }
  return result;
}

void test("the two candidates are distinct and every pair is equally likely", () => {
  const random = seededRandom(1);
  const pairs = new Map<string, number>();
  for (let i = 0; i < 60_000; i++) {
    const [a, b] = twoDistinctIndices(random, 4);
    assert.notEqual(a, b);
    const key = `${Math.min(a, b)}-${Math.max(a, b)}`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  assert.equal(pairs.size, 6);
  // Each of 6 pairs: mean 10,000, sd ~91; allow 5 sd.
  for (const [pair, count] of pairs) assert.ok(Math.abs(count - 10_000) < 455, `pair ${pair}: ${count}`);
});

void test("an endpoint with more requests in flight than all others is never picked", () => {
  const endpoints = makeEndpoints(5);
  const hot = endpoints[2]!;
  const load = trackerWith(new Map([[hot.address, 50]]));
  const result = pickCounts(new LeastRequestBalancer(endpoints, seededRandom(2), load), 40_000);
  // P2C with distinct candidates: the hot endpoint loses every pair it is in, so P = 0.
  assert.equal(result.get(hot.address), undefined);
  // The other four split evenly (ties at random): 10,000 each, sd ~87; allow 5 sd.
  for (const endpoint of endpoints.filter((e) => e !== hot)) {
    assert.ok(Math.abs((result.get(endpoint.address) ?? 0) - 10_000) < 435);
  }
});

void test("pick probabilities follow the pair outcomes: loads 0, 5, 10 give 2/3, 1/3, 0", () => {
  const endpoints = makeEndpoints(3);
  const load = trackerWith(
    new Map([
      [endpoints[0]!.address, 0],
      [endpoints[1]!.address, 5],
      [endpoints[2]!.address, 10],
    ]),
  );
  const result = pickCounts(new LeastRequestBalancer(endpoints, seededRandom(3), load), 30_000);
  // The idlest wins the 2 of 3 pairs it is in; the middle one wins only against the busiest.
  // Binomial(30,000, 2/3): sd ~82; allow 5 sd.
  assert.ok(Math.abs((result.get(endpoints[0]!.address) ?? 0) - 20_000) < 410);
  assert.ok(Math.abs((result.get(endpoints[1]!.address) ?? 0) - 10_000) < 410);
  assert.equal(result.get(endpoints[2]!.address), undefined);
});

void test("on a retry only untried endpoints compete", () => {
  const endpoints = makeEndpoints(3);
  const load = trackerWith(
    new Map([
      [endpoints[1]!.address, 5],
      [endpoints[2]!.address, 10],
    ]),
  );
  const result = pickCounts(
    new LeastRequestBalancer(endpoints, seededRandom(4), load),
    1_000,
    new Set([endpoints[0]!.address]),
  );
  assert.deepEqual([...result], [[endpoints[1]!.address, 1_000]]);
});

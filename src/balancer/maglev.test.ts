// Maglev: prime table, order independence, near-equal shares, small disruption on
// membership change, round robin without a key, and retries.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Endpoint } from "../endpoints/endpoint.ts";
import { MAGLEV_TABLE_SIZE, MaglevBalancer } from "./maglev.ts";
import { seededRandom } from "./seeded-random.ts";
import { makeEndpoints, shuffled } from "./test-endpoints.ts";

const KEYS = Array.from({ length: 50_000 }, (_, i) => `session-${i}`);

function build(endpoints: readonly Endpoint[], seed = 1): MaglevBalancer {
  return new MaglevBalancer(endpoints, seededRandom(seed));
}

function mapKeys(balancer: MaglevBalancer, keys: readonly string[]): string[] {
  return keys.map((hashKey) => balancer.pick({ hashKey })!.address);
}

void test("the table has a prime number of slots (65537), every one owned", () => {
  assert.equal(MAGLEV_TABLE_SIZE, 65537);
  for (let divisor = 2; divisor * divisor <= MAGLEV_TABLE_SIZE; divisor++) {
    assert.notEqual(MAGLEV_TABLE_SIZE % divisor, 0, `divisible by ${divisor}`);
  }
  const counts = build(makeEndpoints(7)).slotCounts();
  assert.equal([...counts.values()].reduce((a, b) => a + b, 0), MAGLEV_TABLE_SIZE);
});

for (const n of [3, 7, 20]) {
  void test(`${n} endpoints: slot shares differ by at most one slot and key shares are within 5% of 1/${n}`, () => {
    const endpoints = makeEndpoints(n);
    const balancer = build(endpoints);
    for (const count of balancer.slotCounts().values()) {
      assert.ok(Math.abs(count - MAGLEV_TABLE_SIZE / n) <= 1, `slot count ${count}`);
    }
    const keyCounts = new Map<string, number>();
    for (const address of mapKeys(balancer, KEYS)) keyCounts.set(address, (keyCounts.get(address) ?? 0) + 1);
    const fair = KEYS.length / n;
    for (const endpoint of endpoints) {
      const count = keyCounts.get(endpoint.address) ?? 0;
      assert.ok(Math.abs(count - fair) <= 0.05 * fair, `${endpoint.address}: ${count} vs ${fair}`);
    }
  });
}

void test("the table depends only on the endpoint set, not on input order or build", () => {
  const endpoints = makeEndpoints(9);
  const keys = KEYS.slice(0, 20_000);
  const reference = mapKeys(build(endpoints), keys);
  const random = seededRandom(3);
  for (let round = 0; round < 3; round++) {
    assert.deepEqual(mapKeys(build(shuffled(endpoints, random), 20 + round), keys), reference);
  }
});

void test("the mapping is pinned: a change to hashing or table filling fails here", () => {
  const balancer = build(makeEndpoints(5));
  // Recorded from this implementation; update only when remapping keys on purpose.
  assert.deepEqual(mapKeys(balancer, ["user-1", "user-2", "user-3", "cart/42", "10.1.2.3"]), [
    "10.0.0.4:8080",
    "10.0.0.4:8080",
    "10.0.0.1:8080",
    "10.0.0.4:8080",
    "10.0.0.2:8080",
  ]);
});

for (const n of [5, 10, 20]) {
  void test(`removing 1 of ${n}: keys elsewhere mostly stay (total moved < 1.5x the ideal 1/${n})`, () => {
    const endpoints = makeEndpoints(n);
    const removed = endpoints[2]!.address;
    const before = mapKeys(build(endpoints), KEYS);
    const after = mapKeys(build(endpoints.filter((e) => e.address !== removed)), KEYS);
    let moved = 0;
    for (let i = 0; i < KEYS.length; i++) {
      assert.notEqual(after[i], removed);
      if (after[i] !== before[i]) moved += 1;
    }
    const ideal = KEYS.length / n;
    assert.ok(moved < 1.5 * ideal, `moved ${moved}, ideal ${ideal}`);
  });

  void test(`adding 1 to ${n}: total moved < 1.5x the ideal 1/${n + 1}`, () => {
    const endpoints = makeEndpoints(n);
    const added = makeEndpoints(1, n)[0]!;
    const before = mapKeys(build(endpoints), KEYS);
    const after = mapKeys(build([...endpoints, added]), KEYS);
    let moved = 0;
    for (let i = 0; i < KEYS.length; i++) if (after[i] !== before[i]) moved += 1;
    const ideal = KEYS.length / (n + 1);
    assert.ok(moved < 1.5 * ideal, `moved ${moved}, ideal ${ideal}`);
  });
}

void test("without a hash key it is plain round robin", () => {
  const balancer = build(makeEndpoints(4));
  const sequence = Array.from({ length: 400 }, () => balancer.pick({})!.address);
  const counts = new Map<string, number>();
  for (const address of sequence) counts.set(address, (counts.get(address) ?? 0) + 1);
  assert.deepEqual([...counts.values()], [100, 100, 100, 100]);
});

void test("a retry probes onward to an endpoint not yet tried, the same one for every replica", () => {
  const endpoints = makeEndpoints(6);
  const one = build(endpoints, 1);
  const other = build(shuffled(endpoints, seededRandom(8)), 2);
  for (const hashKey of KEYS.slice(0, 2_000)) {
    const primary = one.pick({ hashKey })!;
    const attempted = new Set([primary.address]);
    const retry = one.pick({ hashKey, attempted })!;
    assert.notEqual(retry, primary);
    assert.equal(other.pick({ hashKey, attempted })!.address, retry.address);
  }
});

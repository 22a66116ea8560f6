// Random policy: uniform over the endpoints, and over the untried ones on retries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RandomBalancer } from "./random.ts";
import { seededRandom } from "./seeded-random.ts";
import { makeEndpoints } from "./test-endpoints.ts";

function counts(balancer: RandomBalancer, picks: number, attempted?: ReadonlySet<string>): Map<string, number> {
  const result = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const address = balancer.pick(attempted === undefined ? {} : { attempted })!.address;
    result.set(address, (result.get(address) ?? 0) + 1);
  }
  return result;
}

void test("picks are uniform over the endpoints", () => {
  const endpoints = makeEndpoints(4);
  const result = counts(new RandomBalancer(endpoints, seededRandom(1)), 40_000);
  // Binomial(40,000, 1/4): mean 10,000, sd ~87; allow 5 sd.
  for (const endpoint of endpoints) {
    assert.ok(Math.abs((result.get(endpoint.address) ?? 0) - 10_000) < 435, `${endpoint.address}`);
  }
});

void test("retries are uniform over the endpoints not yet tried", () => {
  const endpoints = makeEndpoints(4);
  const result = counts(new RandomBalancer(endpoints, seededRandom(2)), 30_000, new Set([endpoints[0]!.address]));
  assert.equal(result.get(endpoints[0]!.address), undefined);
  // Binomial(30,000, 1/3): mean 10,000, sd ~82; allow 5 sd.
  for (const endpoint of endpoints.slice(1)) {
    assert.ok(Math.abs((result.get(endpoint.address) ?? 0) - 10_000) < 410, `${endpoint.address}`);
  }
});

// Smooth weighted round robin: exact shares per cycle, spread-out order, random start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RoundRobinBalancer, smoothWeightedSchedule } from "./round-robin.ts";
import { seededRandom } from "./seeded-random.ts";
import { makeEndpoints } from "./test-endpoints.ts";

function countPicks(balancer: RoundRobinBalancer, picks: number, attempted?: ReadonlySet<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const address = balancer.pick(attempted === undefined ? {} : { attempted })!.address;
    counts.set(address, (counts.get(address) ?? 0) + 1);
  }
  return counts;
}

void test("3 endpoints x 3,000 picks: each gets exactly 1,000, in a repeating cycle", () => {
  const endpoints = makeEndpoints(3);
  const balancer = new RoundRobinBalancer(endpoints, seededRandom(1));
  const sequence = Array.from({ length: 3_000 }, () => balancer.pick({})!.address);
  for (const endpoint of endpoints) {
    assert.equal(sequence.filter((address) => address === endpoint.address).length, 1_000);
  }
  for (let i = 3; i < sequence.length; i++) assert.equal(sequence[i], sequence[i - 3]);
});

void test("the starting endpoint comes from the random source, so replicas do not start in step", () => {
  const endpoints = makeEndpoints(4);
  assert.equal(new RoundRobinBalancer(endpoints, () => 0).pick({}), endpoints[0]);
  assert.equal(new RoundRobinBalancer(endpoints, () => 0.5).pick({}), endpoints[2]);
  assert.equal(new RoundRobinBalancer(endpoints, () => 0.99).pick({}), endpoints[3]);
  const random = seededRandom(2);
  const firsts = new Set(Array.from({ length: 40 }, () => new RoundRobinBalancer(endpoints, random).pick({})!.address));
  assert.equal(firsts.size, 4);
});

void test("weights 5, 1, 1 give the smooth order a a b a c a a", () => {
  assert.deepEqual(smoothWeightedSchedule([5, 1, 1]), [0, 0, 1, 0, 2, 0, 0]);
});

void test("weighted picks match the weights exactly per cycle and light endpoints are never picked twice running", () => {
  const endpoints = makeEndpoints(3);
  const weights = new Map([
    [endpoints[0]!.address, 6],
    [endpoints[1]!.address, 3],
    [endpoints[2]!.address, 1],
  ]);
  const balancer = new RoundRobinBalancer(endpoints, seededRandom(3), { weightOf: (e) => weights.get(e.address)! });
  const sequence = Array.from({ length: 10_000 }, () => balancer.pick({})!.address);
  for (const [address, weight] of weights) {
    assert.equal(sequence.filter((a) => a === address).length, weight * 1_000);
  }
  for (let i = 1; i < sequence.length; i++) {
    if (sequence[i] === endpoints[2]!.address) assert.notEqual(sequence[i - 1], sequence[i]);
  }
});

void test("weights are reduced by their common divisor; invalid weights count as 1", () => {
  assert.deepEqual(smoothWeightedSchedule([10, 20]), [1, 0, 1]);
  assert.deepEqual(smoothWeightedSchedule([Number.NaN, 0, -3, 1]), [0, 1, 2, 3]);
  assert.deepEqual(smoothWeightedSchedule([2.6, 1]), [0, 0, 1, 0]);
  assert.deepEqual(smoothWeightedSchedule([]), []);
});

void test("huge weights are scaled to a bounded schedule that keeps their ratio", () => {
  const schedule = smoothWeightedSchedule([3_000_001, 1_000_003]);
  assert.ok(schedule.length <= 1 << 21, `schedule length ${schedule.length}`);
  const heavy = schedule.filter((index) => index === 0).length;
  const light = schedule.length - heavy;
  assert.ok(Math.abs(heavy / light - 3_000_001 / 1_000_003) < 0.001);
});

void test("attempted endpoints are skipped and the others still alternate", () => {
  const endpoints = makeEndpoints(3);
  const balancer = new RoundRobinBalancer(endpoints, seededRandom(4));
  const attempted = new Set([endpoints[1]!.address]);
  const counts = countPicks(balancer, 600, attempted);
  assert.equal(counts.get(endpoints[1]!.address), undefined);
  assert.ok(Math.abs((counts.get(endpoints[0]!.address) ?? 0) - 300) <= 1);
  assert.ok(Math.abs((counts.get(endpoints[2]!.address) ?? 0) - 300) <= 1);
});

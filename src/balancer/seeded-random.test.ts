// The seeded PRNG the statistical tests rely on: reproducible, in range, roughly uniform.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "./seeded-random.ts";

void test("seededRandom repeats its sequence for a seed and differs between seeds", () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const seqA = Array.from({ length: 100 }, a);
  assert.deepEqual(Array.from({ length: 100 }, b), seqA);
  assert.notDeepEqual(Array.from({ length: 100 }, c), seqA);
});

void test("seededRandom stays in [0, 1) and fills ten buckets evenly", () => {
  const random = seededRandom(1);
  const buckets = new Array<number>(10).fill(0);
  const samples = 100_000;
  for (let i = 0; i < samples; i++) {
    const value = random();
    assert.ok(value >= 0 && value < 1);
    buckets[Math.floor(value * 10)]! += 1;
  }
  // Each bucket expects 10,000 with a standard deviation of ~95: allow 5 sigma.
  for (const count of buckets) assert.ok(Math.abs(count - 10_000) < 475, `bucket count ${count}`);
});

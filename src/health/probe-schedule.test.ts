// Probe scheduling: jitter bounds and spread, first-probe spread.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../balancer/seeded-random.ts";
import { firstProbeDelayMs, nextProbeDelayMs } from "./probe-schedule.ts";

void test("the next probe comes after the interval +/- 10 %", () => {
  assert.equal(nextProbeDelayMs(10_000, () => 0), 9_000);
  assert.equal(nextProbeDelayMs(10_000, () => 0.5), 10_000);
  assert.ok(nextProbeDelayMs(10_000, () => 0.999_999) <= 11_000);
  assert.ok(nextProbeDelayMs(10_000, () => 0.999_999) > 10_999);
  assert.equal(nextProbeDelayMs(10_000, () => 0, 0), 10_000, "no jitter when the fraction is 0");
  assert.equal(nextProbeDelayMs(1, () => 0), 1, "never below 1 ms");
});

void test("jittered delays stay within bounds and spread over the whole range (seeded)", () => {
  const random = seededRandom(42);
  const samples = Array.from({ length: 10_000 }, () => nextProbeDelayMs(1_000, random));
  assert.ok(samples.every((d) => d >= 900 && d <= 1_100), "every delay within +/- 10 %");
  const below = samples.filter((d) => d < 1_000).length;
  const above = samples.filter((d) => d > 1_000).length;
  // Uniform: each half holds ~5 000 of 10 000; 4 700 is more than 6 standard deviations away.
  assert.ok(below > 4_700 && above > 4_700, `below ${below}, above ${above}`);
  assert.ok(Math.min(...samples) < 905 && Math.max(...samples) > 1_095, "the extremes are reached");
  const mean = samples.reduce((s, d) => s + d, 0) / samples.length;
  assert.ok(Math.abs(mean - 1_000) < 5, `mean ${mean}`);
});

void test("a new session's first probe is spread over one interval", () => {
  assert.equal(firstProbeDelayMs(1_000, () => 0), 0);
  assert.equal(firstProbeDelayMs(1_000, () => 0.999_999), 999);
  const random = seededRandom(7);
  const samples = Array.from({ length: 5_000 }, () => firstProbeDelayMs(1_000, random));
  assert.ok(samples.every((d) => Number.isInteger(d) && d >= 0 && d < 1_000));
  const firstHalf = samples.filter((d) => d < 500).length;
  assert.ok(firstHalf > 2_300 && firstHalf < 2_700, `first half ${firstHalf}`);
});

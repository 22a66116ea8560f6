// Restart delays for crashed workers: doubling per crash in a row, capped, and a
// worker that ran long enough starts the count over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_RESTART_BACKOFF, crashesInARow, restartDelayMs } from "./restart-backoff.ts";

test("restartDelayMs doubles per crash in a row up to the cap", () => {
  const cases: [number, number][] = [
    [1, 100],
    [2, 200],
    [3, 400],
    [7, 6400],
    [8, 10_000],
    [50, 10_000],
    [0, 100],
  ];
  for (const [crashes, delay] of cases) assert.equal(restartDelayMs(crashes), delay, `crash ${crashes}`);
});

test("crashesInARow counts on while workers die young and starts over after a stable run", () => {
  const { stableAfterMs } = DEFAULT_RESTART_BACKOFF;
  assert.equal(crashesInARow(0, 50), 1);
  assert.equal(crashesInARow(3, stableAfterMs - 1), 4);
  assert.equal(crashesInARow(3, stableAfterMs), 1);
  assert.equal(crashesInARow(9, 10 * stableAfterMs), 1);
});

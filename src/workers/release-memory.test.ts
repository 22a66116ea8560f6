// releaseMemory: the young generation a burst grew is given back, without leaving
// gc() in the process's global scope.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getHeapSpaceStatistics } from "node:v8";
import { releaseMemory } from "./release-memory.ts";

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? Number.NaN;
}

void test("after a burst of surviving allocations, the young generation shrinks to its minimum", () => {
  // Objects that survive scavenges make V8 grow the young generation, as loading thousands of manifests does.
  let kept: { id: number; name: string }[] = [];
  for (let i = 0; i < 1_500_000; i++) {
    kept.push({ id: i, name: String(i) });
    if (kept.length > 400_000) kept = kept.slice(200_000);
  }
  const grown = youngGenerationBytes();
  kept = [];
  releaseMemory();
  const after = youngGenerationBytes();
  assert.ok(grown > 8e6, `the burst grew the young generation (${grown} bytes)`);
  assert.ok(after <= 2e6, `young generation after release: ${after} bytes`);
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
});

// Known-answer tests pin xxHash32: any change that would remap hashed keys fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { xxh32, xxh32Bytes } from "./hash.ts";

const PRIME32 = 2654435761;

/** The reference implementation's sanity-check input: bytes from a 64-bit multiplicative generator. */
function referenceTestBuffer(length: number): Uint8Array {
  const mask = (1n << 64n) - 1n;
  const out = new Uint8Array(length);
  let generator = BigInt(PRIME32);
  for (let i = 0; i < length; i++) {
    out[i] = Number(generator >> 56n);
    generator = (generator * 11400714785074694797n) & mask;
  }
  return out;
}

void test("xxh32 matches the reference implementation's sanity-check vectors", () => {
  // (length, seed, expected) as published with the reference xxHash sources.
  const vectors: [number, number, number][] = [
    [0, 0, 0x02cc5d05],
    [0, PRIME32, 0x36b78ae7],
    [1, 0, 0xcf65b03e],
    [1, PRIME32, 0xb4545aa4],
    [14, 0, 0x1208e7e2],
    [14, PRIME32, 0x6af1d1fe],
    [222, 0, 0x5bd11dbd],
    [222, PRIME32, 0x58803c5f],
  ];
  const buffer = referenceTestBuffer(222);
  for (const [length, seed, expected] of vectors) {
    assert.equal(xxh32Bytes(buffer.subarray(0, length), seed), expected, `length ${length} seed ${seed}`);
  }
});

void test("xxh32 of strings hashes their UTF-8 bytes (values from the reference xxhsum tool)", () => {
  const vectors: [string, number][] = [
    ["", 0x02cc5d05],
    ["a", 0x550d7456],
    ["abc", 0x32d153ff],
    ["Nobody inspects the spammish repetition", 0xe2293b2f],
    ["10.0.0.1:8080#0", 0xf1f0191c],
    ["0123456789abcdefghijklmnopqrstuvwxyz", 0x9aa38e7e],
    ["héllo wörld ✓ 🚦", 0xd88f6f80],
  ];
  for (const [text, expected] of vectors) {
    assert.equal(xxh32(text), expected, JSON.stringify(text));
    assert.equal(xxh32Bytes(new TextEncoder().encode(text)), expected, JSON.stringify(text));
  }
});

void test("xxh32 gives the same answer for long strings that bypass the shared buffer", () => {
  const long = "x".repeat(100_000);
  assert.equal(xxh32(long), xxh32Bytes(new TextEncoder().encode(long)));
  // And the shared buffer is not left in a state that changes later results.
  assert.equal(xxh32("abc"), 0x32d153ff);
});

void test("xxh32 results are unsigned 32-bit integers and the seed changes them", () => {
  for (const text of ["a", "b", "10.0.0.7:80"]) {
    const plain = xxh32(text);
    assert.ok(Number.isInteger(plain) && plain >= 0 && plain <= 0xffffffff);
    assert.notEqual(xxh32(text, 1), plain);
  }
});

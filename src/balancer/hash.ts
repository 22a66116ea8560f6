// xxHash32 over the UTF-8 bytes of a string: the one hash every hashing balancer
// uses, so its output must never change (known-answer tests pin it).

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

const encoder = new TextEncoder();
/** Strings longer than this are encoded into a fresh buffer rather than growing the shared one. */
const MAX_SCRATCH_BYTES = 64 * 1024;
/** Reused for string hashes so the hot path does not allocate; grown on demand up to the cap. */
let scratch = new Uint8Array(256);

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function readU32LE(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME32_2)) | 0, 13), PRIME32_1);
}

/** xxHash32 of `length` bytes of `bytes` (from index 0); unsigned 32-bit result. */
function xxh32Prefix(bytes: Uint8Array, length: number, seed: number): number {
  let at = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) | 0;
    let v2 = (seed + PRIME32_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME32_1) | 0;
    const stripesEnd = length - 16;
    while (at <= stripesEnd) {
      v1 = round(v1, readU32LE(bytes, at));
      v2 = round(v2, readU32LE(bytes, at + 4));
      v3 = round(v3, readU32LE(bytes, at + 8));
      v4 = round(v4, readU32LE(bytes, at + 12));
      at += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME32_5) | 0;
  }
  h = (h + length) | 0;
  while (at + 4 <= length) {
    h = (h + Math.imul(readU32LE(bytes, at), PRIME32_3)) | 0;
    h = Math.imul(rotl(h, 17), PRIME32_4);
    at += 4;
  }
  while (at < length) {
    h = (h + Math.imul(bytes[at]!, PRIME32_5)) | 0;
    h = Math.imul(rotl(h, 11), PRIME32_1);
    at += 1;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** xxHash32 (reference algorithm, little-endian lanes) of raw bytes; `seed` is taken as uint32. */
export function xxh32Bytes(bytes: Uint8Array, seed = 0): number {
  return xxh32Prefix(bytes, bytes.length, seed >>> 0);
}

/**
 * xxHash32 of the UTF-8 encoding of `text` (lone surrogates encode as U+FFFD, as
 * TextEncoder does), so every process and platform maps a string to the same value.
 */
export function xxh32(text: string, seed = 0): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const needed = text.length * 3;
  if (needed > MAX_SCRATCH_BYTES) {
    return xxh32Bytes(encoder.encode(text), seed);
  }
  if (needed > scratch.length) {
    scratch = new Uint8Array(Math.min(MAX_SCRATCH_BYTES, Math.max(needed, scratch.length * 2)));
  }
  const { written } = encoder.encodeInto(text, scratch);
  return xxh32Prefix(scratch, written, seed >>> 0);
}

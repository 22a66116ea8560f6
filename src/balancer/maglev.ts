// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of prime
// size filled from per-endpoint permutations, giving near-equal shares and small
// disruption when membership changes, with O(1) lookups.
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { Balancer, PickContext } from "./balancer.ts";
import { xxh32 } from "./hash.ts";
import { allAttempted, canonicalOrder, hasAttempted } from "./pick-helpers.ts";
import { RoundRobinBalancer } from "./round-robin.ts";

/** Prime, so every skip in [1, size - 1] walks the whole table. Changing it remaps keys. */
export const MAGLEV_TABLE_SIZE = 65537;

/** Seeds for the two independent address hashes (offset and skip); changing them remaps keys. */
const OFFSET_SEED = 0x4d41474c;
const SKIP_SEED = 0x45563031;

/** Where an endpoint's permutation starts and how far it steps: functions of its address only. */
export function maglevPermutation(address: string): { offset: number; skip: number } {
  return {
    offset: xxh32(address, OFFSET_SEED) % MAGLEV_TABLE_SIZE,
    skip: (xxh32(address, SKIP_SEED) % (MAGLEV_TABLE_SIZE - 1)) + 1,
  };
}

/**
 * The table: slot -> member index. Members take turns claiming the next free slot
 * of their own permutation, so shares differ by at most one slot. With more members
 * than slots, the later ones get none.
 */
function populate(addresses: readonly string[]): Int32Array {
  const size = MAGLEV_TABLE_SIZE;
  const table = new Int32Array(size).fill(-1);
  const n = addresses.length;
  if (n === 0) return table;
  const next = new Float64Array(n);
  const skips = new Float64Array(n);
  addresses.forEach((address, m) => {
    const { offset, skip } = maglevPermutation(address);
    next[m] = offset;
    skips[m] = skip;
  });
  let filled = 0;
  for (;;) {
    for (let m = 0; m < n; m++) {
      let slot = next[m]!;
      const skip = skips[m]!;
      while (table[slot]! >= 0) {
        slot += skip;
        if (slot >= size) slot -= size;
      }
      table[slot] = m;
      slot += skip;
      next[m] = slot >= size ? slot - size : slot;
      filled += 1;
      if (filled === size) return table;
    }
  }
}

export class MaglevBalancer implements Balancer {
  readonly #members: readonly Endpoint[];
  readonly #table: Int32Array;
  readonly #fallback: RoundRobinBalancer;

  constructor(endpoints: readonly Endpoint[], random: () => number) {
    // Sorted by address: the table depends only on the endpoint set, not on input order.
    this.#members = canonicalOrder(endpoints);
    this.#table = populate(this.#members.map((endpoint) => endpoint.address));
    this.#fallback = new RoundRobinBalancer(this.#members, random);
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const members = this.#members;
    if (members.length === 0) return undefined;
    if (ctx.hashKey === undefined) return this.#fallback.pick(ctx);
    const table = this.#table;
    const size = MAGLEV_TABLE_SIZE;
    const start = xxh32(ctx.hashKey) % size;
    const primary = members[table[start]!]!;
    const attempted = ctx.attempted;
    if (!hasAttempted(attempted) || !attempted.has(primary.address)) return primary;
    if (allAttempted(members, attempted)) return primary;
    // Probe onward through the table for an endpoint not yet tried (one exists, checked above).
    for (let step = 1; step < size; step++) {
      const candidate = members[table[(start + step) % size]!]!;
      if (!attempted.has(candidate.address)) return candidate;
    }
    return primary;
  }

  /** Slots owned per endpoint address, for debugging and metrics. */
  slotCounts(): Map<string, number> {
    const counts = new Map<string, number>(this.#members.map((endpoint) => [endpoint.address, 0]));
    for (const member of this.#table) {
      const endpoint = this.#members[member];
      if (endpoint !== undefined) counts.set(endpoint.address, (counts.get(endpoint.address) ?? 0) + 1);
    }
    return counts;
  }
}

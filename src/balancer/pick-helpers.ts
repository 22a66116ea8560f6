// Small helpers the policies share: random indices, attempted-endpoint avoidance,
// and the canonical (address-sorted, de-duplicated) endpoint order hashing needs.
import type { Endpoint } from "../endpoints/endpoint.ts";

/** Uniform index in [0, n) from a [0, 1) source; clamped so a source returning 1 cannot overflow. */
export function randomIndex(random: () => number, n: number): number {
  const index = Math.floor(random() * n);
  return index >= n ? n - 1 : index < 0 ? 0 : index;
}

/** True when `attempted` holds something, i.e. the slower retry-aware path is needed. */
export function hasAttempted(attempted: ReadonlySet<string> | undefined): attempted is ReadonlySet<string> {
  return attempted !== undefined && attempted.size > 0;
}

/**
 * The endpoints not yet attempted, or all of them when every one was attempted
 * (a retry still needs somewhere to go). Allocates only when `attempted` is non-empty.
 */
export function avoidAttempted(
  endpoints: readonly Endpoint[],
  attempted: ReadonlySet<string> | undefined,
): readonly Endpoint[] {
  if (!hasAttempted(attempted)) return endpoints;
  const fresh = endpoints.filter((endpoint) => !attempted.has(endpoint.address));
  return fresh.length > 0 ? fresh : endpoints;
}

/** True when every one of `endpoints` is in `attempted` (stale extra addresses do not count). */
export function allAttempted(endpoints: readonly Endpoint[], attempted: ReadonlySet<string>): boolean {
  if (attempted.size < endpoints.length) return false;
  return endpoints.every((endpoint) => attempted.has(endpoint.address));
}

/**
 * Endpoints sorted by address with duplicates (same address) dropped, so structures
 * built from the result depend only on the endpoint set, not on input order.
 */
export function canonicalOrder(endpoints: readonly Endpoint[]): Endpoint[] {
  const byAddress = new Map<string, Endpoint>();
  for (const endpoint of endpoints) {
    if (!byAddress.has(endpoint.address)) byAddress.set(endpoint.address, endpoint);
  }
  return [...byAddress.values()].sort((a, b) => compareStrings(a.address, b.address));
}

/** Code-unit order, independent of locale, so every process sorts alike. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

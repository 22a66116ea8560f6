// Least request by the power of two choices: of two distinct random endpoints,
// the one with fewer requests in flight wins (ties broken at random).
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { Balancer, EndpointLoad, PickContext } from "./balancer.ts";
import { avoidAttempted, randomIndex } from "./pick-helpers.ts";

/**
 * Two distinct random indices in [0, n), n >= 2. The second draw skips the first
 * index, so every unordered pair is equally likely (probability 2 / (n (n - 1))).
 */
export function twoDistinctIndices(random: () => number, n: number): [number, number] {
  const first = randomIndex(random, n);
  let second = randomIndex(random, n - 1);
  if (second >= first) second += 1;
  return [first, second];
}

export class LeastRequestBalancer implements Balancer {
  readonly #endpoints: readonly Endpoint[];
  readonly #random: () => number;
  readonly #load: EndpointLoad;

  constructor(endpoints: readonly Endpoint[], random: () => number, load: EndpointLoad) {
    this.#endpoints = [...endpoints];
    this.#random = random;
    this.#load = load;
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const candidates = avoidAttempted(this.#endpoints, ctx.attempted);
    if (candidates.length <= 1) return candidates[0];
    const [i, j] = twoDistinctIndices(this.#random, candidates.length);
    const a = candidates[i]!;
    const b = candidates[j]!;
    const loadA = this.#load.outstanding(a.address);
    const loadB = this.#load.outstanding(b.address);
    if (loadA !== loadB) return loadA < loadB ? a : b;
    return this.#random() < 0.5 ? a : b;
  }
}

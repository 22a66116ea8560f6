// Uniform random choice; retries choose uniformly among the endpoints not yet tried.
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { Balancer, PickContext } from "./balancer.ts";
import { avoidAttempted, randomIndex } from "./pick-helpers.ts";

export class RandomBalancer implements Balancer {
  readonly #endpoints: readonly Endpoint[];
  readonly #random: () => number;

  constructor(endpoints: readonly Endpoint[], random: () => number) {
    this.#endpoints = [...endpoints];
    this.#random = random;
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const candidates = avoidAttempted(this.#endpoints, ctx.attempted);
    if (candidates.length === 0) return undefined;
    return candidates[randomIndex(this.#random, candidates.length)];
  }
}

// Peak-EWMA: the power of two choices on cost = latency x (requests in flight + 1),
// latency being the decayed peak-EWMA the EndpointLoad keeps per endpoint.
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { Balancer, EndpointLoad, PickContext } from "./balancer.ts";
import { twoDistinctIndices } from "./least-request.ts";
import { avoidAttempted } from "./pick-helpers.ts";

/**
 * Latencies are floored here so a 0 ms sample cannot make an endpoint free (cost 0
 * would ignore its queue and flood it).
 */
export const MIN_COST_LATENCY_MS = 0.001;

/**
 * Cost of the two candidates. An endpoint without a latency sample yet borrows its
 * rival's latency (the lowest one known to this comparison): it is cheap enough to
 * be probed, but the pair is then decided by requests in flight alone, as in
 * least-request, so a new endpoint's own queue stops it being flooded before its
 * first response arrives. When neither has a sample, both count as 1 ms.
 */
export function pairCosts(
  latencyA: number | undefined,
  outstandingA: number,
  latencyB: number | undefined,
  outstandingB: number,
): [number, number] {
  const knownA = latencyA ?? latencyB ?? 1;
  const knownB = latencyB ?? latencyA ?? 1;
  return [
    Math.max(knownA, MIN_COST_LATENCY_MS) * (outstandingA + 1),
    Math.max(knownB, MIN_COST_LATENCY_MS) * (outstandingB + 1),
  ];
}

export class EwmaBalancer implements Balancer {
  readonly #endpoints: readonly Endpoint[];
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #load: EndpointLoad;

  constructor(endpoints: readonly Endpoint[], random: () => number, now: () => number, load: EndpointLoad) {
    this.#endpoints = [...endpoints];
    this.#random = random;
    this.#now = now;
    this.#load = load;
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const candidates = avoidAttempted(this.#endpoints, ctx.attempted);
    if (candidates.length <= 1) return candidates[0];
    const [i, j] = twoDistinctIndices(this.#random, candidates.length);
    const a = candidates[i]!;
    const b = candidates[j]!;
    const now = this.#now();
    const load = this.#load;
    const [costA, costB] = pairCosts(
      load.latencyMs(a.address, now),
      load.outstanding(a.address),
      load.latencyMs(b.address, now),
      load.outstanding(b.address),
    );
    if (costA !== costB) return costA < costB ? a : b;
    return this.#random() < 0.5 ? a : b;
  }
}

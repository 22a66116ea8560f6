// Smooth weighted round robin (the nginx algorithm), precomputed into a schedule
// when the endpoint list changes so a pick is one array read.
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { Balancer, PickContext } from "./balancer.ts";
import { hasAttempted, randomIndex } from "./pick-helpers.ts";

export interface RoundRobinOptions {
  /**
   * Relative weight of an endpoint (default 1 for all). Weights are integers:
   * fractions are rounded, and anything below 1 or not finite counts as 1, because
   * excluding an endpoint is the endpoint set's job, not the balancer's.
   */
  weightOf?: (endpoint: Endpoint) => number;
}

/** Schedule work (length x endpoints) allowed at build time before weights are scaled down. */
const MAX_BUILD_STEPS = 1 << 22;

function normalizeWeight(weight: number): number {
  return Number.isFinite(weight) && weight >= 1 ? Math.round(weight) : 1;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Endpoint indices in smooth weighted round-robin order for one full cycle: each
 * index appears weight times, spread out (weights 5,1,1 give a a b a c a a).
 */
export function smoothWeightedSchedule(rawWeights: readonly number[]): number[] {
  const n = rawWeights.length;
  if (n === 0) return [];
  let weights = rawWeights.map(normalizeWeight);
  if (weights.every((weight) => weight === weights[0])) {
    return weights.map((_, index) => index);
  }
  const divisor = weights.reduce(gcd);
  weights = weights.map((weight) => weight / divisor);
  // Keep the build bounded: scale weights down (shares change by < 0.5 / weight).
  const maxCycle = Math.max(n, Math.floor(MAX_BUILD_STEPS / n));
  const cycle = weights.reduce((sum, weight) => sum + weight, 0);
  if (cycle > maxCycle) {
    const scale = maxCycle / cycle;
    weights = weights.map((weight) => Math.max(1, Math.round(weight * scale)));
  }
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const current = new Array<number>(n).fill(0);
  const schedule: number[] = [];
  for (let step = 0; step < total; step++) {
    let best = 0;
    for (let i = 0; i < n; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    schedule.push(best);
  }
  return schedule;
}

export class RoundRobinBalancer implements Balancer {
  readonly #schedule: readonly Endpoint[];
  #cursor: number;

  /** `random` picks the starting point, so replicas built at the same moment do not move in step. */
  constructor(endpoints: readonly Endpoint[], random: () => number, options: RoundRobinOptions = {}) {
    const weightOf = options.weightOf ?? (() => 1);
    const order = smoothWeightedSchedule(endpoints.map((endpoint) => weightOf(endpoint)));
    this.#schedule = order.map((index) => endpoints[index]!);
    this.#cursor = this.#schedule.length > 0 ? randomIndex(random, this.#schedule.length) : 0;
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const schedule = this.#schedule;
    const n = schedule.length;
    if (n === 0) return undefined;
    const start = this.#cursor;
    const first = schedule[start]!;
    const attempted = ctx.attempted;
    if (!hasAttempted(attempted) || !attempted.has(first.address)) {
      this.#cursor = start + 1 === n ? 0 : start + 1;
      return first;
    }
    // One full cycle visits every endpoint at least once. The cursor moves past the
    // endpoint chosen, so the one after a skipped endpoint does not get a double share.
    for (let step = 1; step < n; step++) {
      const index = (start + step) % n;
      const candidate = schedule[index]!;
      if (!attempted.has(candidate.address)) {
        this.#cursor = index + 1 === n ? 0 : index + 1;
        return candidate;
      }
    }
    this.#cursor = start + 1 === n ? 0 : start + 1;
    return first;
  }
}

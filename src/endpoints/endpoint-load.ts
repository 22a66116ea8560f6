// EndpointLoadTracker: requests in flight and peak-EWMA latency per endpoint
// address, fed by the proxy and read by the least-request and ewma balancers.
import type { EndpointLoad } from "../balancer/balancer.ts";

export interface EndpointLoadSnapshot {
  address: string;
  outstanding: number;
  /** Decayed peak-EWMA at the snapshot time; undefined before the first sample. */
  latencyMs: number | undefined;
  /** Clock value of the last latency sample; undefined before the first. */
  lastSampleAt: number | undefined;
}

interface LoadEntry {
  outstanding: number;
  /** Estimate as of `updatedAt`; NaN before the first sample. */
  estimateMs: number;
  updatedAt: number;
  decayMs: number;
  /** The endpoint left; the entry stays only until the requests still in flight to it end. */
  retired: boolean;
}

/**
 * Weight the old estimate keeps after `elapsedMs`: exp(-elapsed / decay). A decay
 * that is not a positive number means no memory (the latest sample stands, with no
 * idle decay either), so a bad setting degrades instead of producing NaN.
 */
export function decayWeight(elapsedMs: number, decayMs: number): number {
  if (!(decayMs > 0)) return 0;
  // A clock that stood still or stepped back counts as no time passed.
  return elapsedMs > 0 ? Math.exp(-elapsedMs / decayMs) : 1;
}

/**
 * The least weight a lower latency sample has in the estimate. With time alone,
 * an endpoint answering hundreds of requests a second gives each sample a weight of
 * a few ten-thousandths, so one stall (a GC pause, a burst that queued requests)
 * kept its estimate high for seconds, and ewma sent traffic to a slower endpoint
 * meanwhile. With this floor a spike fades within some 60 requests.
 */
export const MIN_SAMPLE_WEIGHT = 0.05;

/**
 * The least latency a failed attempt (connection failure, reset, timeout, 5xx answer)
 * counts as. A failure is often fast (a refused connection, an error page): sampled
 * as it is, it made a broken endpoint look like the best one to ewma, which then sent
 * it more traffic. As a peak it lifts the estimate at once and fades with the decay.
 */
export const FAILED_ATTEMPT_LATENCY_MS = 1_000;

/** The latency sample of an attempt that took `elapsedMs`. */
export function latencySample(elapsedMs: number, failed: boolean): number {
  return failed ? Math.max(elapsedMs, FAILED_ATTEMPT_LATENCY_MS) : elapsedMs;
}

/**
 * Peak-EWMA model (after Finagle's and tower's): while idle the estimate decays
 * toward 0 with time constant `decayMs`, so an endpoint that looked slow is tried
 * again eventually. A sample above the current estimate replaces it at once (peak);
 * a lower one pulls it toward the sample with weight 1 - exp(-elapsed / decayMs),
 * elapsed being the time since the previous sample, and at least MIN_SAMPLE_WEIGHT.
 * Keyed by address and owned by the endpoint registry, so it survives balancer and
 * route-table rebuilds.
 */
export class EndpointLoadTracker implements EndpointLoad {
  readonly #entries = new Map<string, LoadEntry>();

  #entry(address: string): LoadEntry {
    let entry = this.#entries.get(address);
    if (entry === undefined) {
      entry = { outstanding: 0, estimateMs: Number.NaN, updatedAt: 0, decayMs: 0, retired: false };
      this.#entries.set(address, entry);
    }
    return entry;
  }

  /** A request to `address` started. */
  begin(address: string): void {
    const entry = this.#entry(address);
    entry.retired = false;
    entry.outstanding += 1;
  }

  /**
   * A request to `address` finished after `latencyMs`. A latency that is negative or
   * not finite (e.g. from a clock glitch) is ignored; the in-flight count still drops.
   * An address with no state (never begun) is ignored, and a request that was in
   * flight when its endpoint left only lowers the count (its latency describes the
   * old pod), so it can neither bring the entry back nor undercount requests sent to
   * a new pod with the same address meanwhile.
   */
  end(address: string, latencyMs: number, decayMs: number, now: number): void {
    const entry = this.#entries.get(address);
    if (entry === undefined) return;
    entry.outstanding = Math.max(0, entry.outstanding - 1);
    if (entry.retired) {
      if (entry.outstanding === 0) this.#entries.delete(address);
      return;
    }
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    if (Number.isNaN(entry.estimateMs)) {
      entry.estimateMs = latencyMs;
    } else {
      const weight = decayWeight(now - entry.updatedAt, decayMs);
      const current = entry.estimateMs * weight;
      const pull = Math.max(1 - weight, MIN_SAMPLE_WEIGHT);
      entry.estimateMs = latencyMs > current ? latencyMs : current + (latencyMs - current) * pull;
    }
    entry.updatedAt = now;
    entry.decayMs = decayMs;
  }

  outstanding(address: string): number {
    return this.#entries.get(address)?.outstanding ?? 0;
  }

  latencyMs(address: string, now: number): number | undefined {
    const entry = this.#entries.get(address);
    if (entry === undefined || Number.isNaN(entry.estimateMs)) return undefined;
    if (!(entry.decayMs > 0)) return entry.estimateMs;
    return entry.estimateMs * decayWeight(now - entry.updatedAt, entry.decayMs);
  }

  /** Drops the state of an endpoint that left every backend; requests still in flight to it keep counting until they end. */
  forget(address: string): void {
    const entry = this.#entries.get(address);
    if (entry === undefined) return;
    if (entry.outstanding === 0) {
      this.#entries.delete(address);
      return;
    }
    entry.retired = true;
    entry.estimateMs = Number.NaN;
    entry.updatedAt = 0;
    entry.decayMs = 0;
  }

  /** Every tracked endpoint, sorted by address, with latencies decayed to `now`. */
  snapshot(now: number): EndpointLoadSnapshot[] {
    return [...this.#entries.keys()].sort().map((address) => {
      const entry = this.#entries.get(address)!;
      const sampled = !Number.isNaN(entry.estimateMs);
      return {
        address,
        outstanding: entry.outstanding,
        latencyMs: this.latencyMs(address, now),
        lastSampleAt: sampled ? entry.updatedAt : undefined,
      };
    });
  }
}

// The balancer contract: pick one endpoint from a fixed, already health-filtered
// list. Balancers are built when the list changes (precompute there, not per pick).
import type { Endpoint } from "../endpoints/endpoint.ts";

export interface PickContext {
  /** Consistent-hashing key; hashing policies fall back to round robin without one. */
  hashKey?: string;
  /** Addresses already tried for this request (retries go elsewhere when possible). */
  attempted?: ReadonlySet<string>;
}

export interface Balancer {
  /** undefined only when there is no endpoint at all. */
  pick(ctx: PickContext): Endpoint | undefined;
}

/** Live per-endpoint load figures, kept by the EndpointRegistry across rebuilds. */
export interface EndpointLoad {
  outstanding(address: string): number;
  /** Peak-EWMA latency in ms at `now`, decayed; undefined before the first sample. */
  latencyMs(address: string, now: number): number | undefined;
}

export interface BalancerDeps {
  /** Uniform in [0, 1); injected so tests are deterministic. */
  random: () => number;
  /** Milliseconds, monotonic. */
  now: () => number;
  load: EndpointLoad;
}

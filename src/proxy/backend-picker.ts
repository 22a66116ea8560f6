// BackendPicker: one balancer per (backend, policy), rebuilt only when the
// backend's endpoint set changes, so a pick costs what the policy costs and
// nothing is recomputed per request.
import type { Balancer, BalancerDeps, PickContext } from "../balancer/balancer.ts";
import { createBalancer, xxh32 } from "../balancer/index.ts";
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { EndpointRegistry, EndpointSet } from "../endpoints/endpoint-registry.ts";
import type { BackendRef, LoadBalancePolicy } from "../routing/route-table.ts";

interface CachedBalancer {
  version: number;
  set: EndpointSet;
  balancer: Balancer;
  /** Usable endpoints by affinity id, built on first use. */
  byAffinityId?: Map<string, Endpoint>;
}

/**
 * The sticky-session cookie value naming an endpoint: opaque (not its address)
 * and the same on every replica, so any turnout instance honours it.
 */
export function affinityId(address: string): string {
  return xxh32(address, 0x74726e74).toString(16).padStart(8, "0");
}

export class BackendPicker {
  readonly #registry: EndpointRegistry;
  readonly #deps: BalancerDeps;
  /** backend key -> policy -> balancer (two lookups by existing strings: no key is built per pick). */
  readonly #cache = new Map<string, Map<LoadBalancePolicy, CachedBalancer>>();

  constructor(registry: EndpointRegistry, deps: BalancerDeps) {
    this.#registry = registry;
    this.#deps = deps;
  }

  /** The endpoint set of a backend and the balancer over its usable endpoints. */
  balancerFor(backend: BackendRef, policy: LoadBalancePolicy): CachedBalancer {
    const set = this.#registry.endpointSet(backend);
    let byPolicy = this.#cache.get(backend.key);
    if (byPolicy === undefined) {
      byPolicy = new Map();
      this.#cache.set(backend.key, byPolicy);
    }
    let cached = byPolicy.get(policy);
    if (!cached || cached.version !== set.version) {
      cached = { version: set.version, set, balancer: createBalancer(policy, set.usable, this.#deps) };
      byPolicy.set(policy, cached);
    }
    return cached;
  }

  pick(backend: BackendRef, policy: LoadBalancePolicy, ctx: PickContext): Endpoint | undefined {
    return this.balancerFor(backend, policy).balancer.pick(ctx);
  }

  /** The usable endpoint a sticky-session cookie names, if it is still usable. */
  endpointByAffinityId(backend: BackendRef, policy: LoadBalancePolicy, id: string): Endpoint | undefined {
    const cached = this.balancerFor(backend, policy);
    cached.byAffinityId ??= new Map(cached.set.usable.map((e) => [affinityId(e.address), e]));
    return cached.byAffinityId.get(id);
  }

  /** Calls `listener` with the addresses that left every backend, so per-endpoint state (pools) can go. */
  onEndpointsRemoved(listener: (addresses: readonly string[]) => void): void {
    this.#registry.onChange((_service, removed) => {
      if (removed.length > 0) listener(removed);
    });
  }

  /** Drops balancers of backends no route refers to any more. */
  retain(backends: readonly BackendRef[]): void {
    const live = new Set(backends.map((b) => b.key));
    for (const key of this.#cache.keys()) {
      if (!live.has(key)) this.#cache.delete(key);
    }
  }
}

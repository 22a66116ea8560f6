// What buildRouteTable may reuse from earlier runs. Store objects are replaced,
// never mutated: an Ingress version that looks up the same Service objects expands
// the same way, and a host whose contributing expansions are the same objects, in
// the same order, builds the same routes. So one changed Ingress costs one
// expansion and its hosts, not the whole table; the result equals a fresh build.
import type { BackendRef } from "../routing/index.ts";
import type { Service } from "../store/index.ts";
import { backendResolver } from "./backend-resolution.ts";
import type { BuiltHost } from "./host-routes.ts";
import { buildHostRoutes } from "./host-routes.ts";
import type { IngressExpansion } from "./ingress-expansion.ts";
import { expandIngress } from "./ingress-expansion.ts";
import type { UsableIngress } from "./ingress-versions.ts";
import { compareByAge, compareStrings, sortLike } from "./ordering.ts";

interface CachedExpansion {
  expansion: IngressExpansion;
  /** Every Service key the expansion looked up, with what it found. */
  lookups: [string, Service | undefined][];
}

interface CachedHost {
  contributors: readonly IngressExpansion[];
  built: BuiltHost;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class TranslationCache {
  readonly #expansions = new WeakMap<UsableIngress, CachedExpansion>();
  #hosts = new Map<string, CachedHost>();
  #hostOrder: string[] = [];
  #backends: BackendRef[] = [];
  #ageOrder: UsableIngress[] = [];
  #acceptedOrder: string[] = [];

  /** The expansion of `source`, reused while the Services it looked up are unchanged. */
  expansion(source: UsableIngress, services: ReadonlyMap<string, Service>): IngressExpansion {
    const cached = this.#expansions.get(source);
    if (cached?.lookups.every(([key, service]) => services.get(key) === service)) return cached.expansion;
    const lookups: [string, Service | undefined][] = [];
    const expansion = expandIngress(
      source,
      backendResolver((key) => {
        const service = services.get(key);
        lookups.push([key, service]);
        return service;
      }),
    );
    this.#expansions.set(source, { expansion, lookups });
    return expansion;
  }

  /** Builds every host (reusing those whose contributors are unchanged); forgets hosts no longer present. */
  hosts(contributorsByHost: ReadonlyMap<string, readonly IngressExpansion[]>): Map<string, BuiltHost> {
    const next = new Map<string, CachedHost>();
    const built = new Map<string, BuiltHost>();
    for (const [hostKey, contributors] of contributorsByHost) {
      const cached = this.#hosts.get(hostKey);
      const entry = cached && sameItems(cached.contributors, contributors) ? cached : { contributors, built: buildHostRoutes(hostKey, contributors) };
      next.set(hostKey, entry);
      built.set(hostKey, entry.built);
    }
    this.#hosts = next;
    return built;
  }

  /** Oldest first (creationTimestamp, then namespace/name). */
  orderByAge(usable: readonly UsableIngress[]): UsableIngress[] {
    this.#ageOrder = sortLike(usable, new Set(usable), this.#ageOrder, (a, b) => compareByAge(a.ingress, b.ingress));
    return this.#ageOrder;
  }

  /** Code-unit order. */
  orderAccepted(keys: readonly string[]): string[] {
    this.#acceptedOrder = sortLike(keys, new Set(keys), this.#acceptedOrder, compareStrings);
    return this.#acceptedOrder;
  }

  /** Host keys in code-unit order. */
  orderHosts(hosts: ReadonlyMap<string, unknown>): string[] {
    this.#hostOrder = sortLike(hosts.keys(), hosts, this.#hostOrder, compareStrings);
    return this.#hostOrder;
  }

  /** Backends sorted by key; the previous array itself when nothing changed. */
  orderBackends(byKey: ReadonlyMap<string, BackendRef>): BackendRef[] {
    const previous = this.#backends;
    const sameKeys = previous.length === byKey.size && previous.every((backend) => byKey.has(backend.key));
    if (sameKeys && previous.every((backend) => byKey.get(backend.key) === backend)) return previous;
    const order = sameKeys ? previous.map((backend) => backend.key) : sortLike(byKey.keys(), byKey, previous.map((backend) => backend.key), compareStrings);
    this.#backends = order.map((key) => byKey.get(key) as BackendRef);
    return this.#backends;
  }
}

// Builds the balancer for a backend's policy over its current (healthy) endpoints;
// called again whenever that endpoint list changes.
import type { Endpoint } from "../endpoints/endpoint.ts";
import { LOAD_BALANCE_POLICIES, type LoadBalancePolicy } from "../routing/route-table.ts";
import type { Balancer, BalancerDeps } from "./balancer.ts";
import { EwmaBalancer } from "./ewma.ts";
import { LeastRequestBalancer } from "./least-request.ts";
import { MaglevBalancer } from "./maglev.ts";
import { RandomBalancer } from "./random.ts";
import { RingHashBalancer } from "./ring-hash.ts";
import { RoundRobinBalancer } from "./round-robin.ts";


export function createBalancer(
  policy: LoadBalancePolicy,
  endpoints: readonly Endpoint[],
  deps: BalancerDeps,
): Balancer {
  switch (policy) {
    case "round-robin":
      return new RoundRobinBalancer(endpoints, deps.random);
    case "random":
      return new RandomBalancer(endpoints, deps.random);
    case "least-request":
      return new LeastRequestBalancer(endpoints, deps.random, deps.load);
    case "ewma":
      return new EwmaBalancer(endpoints, deps.random, deps.now, deps.load);
    case "ring-hash":
      return new RingHashBalancer(endpoints, deps.random);
    case "maglev":
      return new MaglevBalancer(endpoints, deps.random);
    default: {
      // Unreachable for typed callers; a policy that slipped past validation still gets a clear message.
      const unknown: never = policy;
      throw new TypeError(`unknown load-balance policy ${JSON.stringify(unknown)}; expected one of ${LOAD_BALANCE_POLICIES.join(", ")}`);
    }
  }
}

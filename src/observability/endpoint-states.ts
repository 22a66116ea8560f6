// Endpoint counts per backend and state for the turnout_endpoints gauge, read
// from the published table and the registry at scrape time. "healthy" is always
// given (0 is what an alert looks for); other states only when some endpoint is
// in them, so a large, healthy cluster costs one series per backend, not four.
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { RouteTableHolder } from "../routing/published-table.ts";
import type { EndpointStateCount } from "./metrics.ts";

export function* endpointStateCounts(holder: RouteTableHolder, registry: EndpointRegistry): Generator<EndpointStateCount> {
  for (const backend of holder.current?.table.backends ?? []) {
    const set = registry.endpointSet(backend);
    // Usually every endpoint is usable: no Set to build then.
    const usable = set.usable.length === set.all.length ? undefined : new Set(set.usable);
    let healthy = 0;
    let unhealthy = 0;
    let ejected = 0;
    let terminating = 0;
    for (const endpoint of set.all) {
      if (endpoint.terminating) terminating += 1;
      else if (registry.isEjected(endpoint.address)) ejected += 1;
      else if (!usable || usable.has(endpoint)) healthy += 1;
      else unhealthy += 1;
    }
    yield { service: backend.key, state: "healthy", count: healthy };
    if (unhealthy > 0) yield { service: backend.key, state: "unhealthy", count: unhealthy };
    if (ejected > 0) yield { service: backend.key, state: "ejected", count: ejected };
    if (terminating > 0) yield { service: backend.key, state: "terminating", count: terminating };
  }
}

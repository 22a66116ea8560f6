// Endpoint counts per backend and state for the turnout_endpoints gauge, read
// from the published table and the registry at scrape time.
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { RouteTableHolder } from "../routing/published-table.ts";
import type { EndpointStateCount } from "./metrics.ts";

export function* endpointStateCounts(holder: RouteTableHolder, registry: EndpointRegistry): Generator<EndpointStateCount> {
  for (const backend of holder.current?.table.backends ?? []) {
    const set = registry.endpointSet(backend);
    const usable = new Set(set.usable);
    let healthy = 0;
    let unhealthy = 0;
    let ejected = 0;
    let terminating = 0;
    for (const endpoint of set.all) {
      if (endpoint.terminating) terminating += 1;
      else if (registry.isEjected(endpoint.address)) ejected += 1;
      else if (usable.has(endpoint)) healthy += 1;
      else unhealthy += 1;
    }
    yield { service: backend.key, state: "healthy", count: healthy };
    yield { service: backend.key, state: "unhealthy", count: unhealthy };
    yield { service: backend.key, state: "ejected", count: ejected };
    yield { service: backend.key, state: "terminating", count: terminating };
  }
}

// Endpoint health flags and the pure rule that turns a backend's endpoints plus
// those flags into the list its balancer gets (candidates -> healthy -> panic).
import type { Endpoint } from "./endpoint.ts";

/**
 * Health flags of one endpoint address, set outside the balancers (after Envoy's
 * independent health flags). Absent state means healthy.
 */
export interface EndpointHealth {
  /** Set by the active checker after `unhealthyThreshold` failed probes in a row. */
  failedActiveCheck: boolean;
  /** Clock value until which the outlier detector ejected the endpoint; 0 when never ejected. */
  ejectedUntil: number;
}

export interface UsableSelection {
  /** Ready endpoints; if none is ready, those serving while terminating (graceful shutdown). */
  candidates: readonly Endpoint[];
  /** Candidates neither failing active checks nor ejected at `now`. */
  healthy: readonly Endpoint[];
  /** What the balancer gets: `healthy`, or every candidate in panic mode. */
  usable: readonly Endpoint[];
  /** No candidate is healthy, so all candidates take traffic rather than none. */
  panic: boolean;
  /** Earliest `ejectedUntil` among ejected candidates (Infinity if none): the selection is stale from then on. */
  staleAt: number;
}

const EMPTY: readonly Endpoint[] = Object.freeze([]);

function frozen(endpoints: readonly Endpoint[]): readonly Endpoint[] {
  return endpoints.length > 0 ? Object.freeze(endpoints) : EMPTY;
}

/**
 * Pure. `all` may be in any order; the result keeps it. A list that filters out
 * nothing is its input, not a copy (sets are kept for every backend at once), so
 * pass a frozen `all`.
 */
export function selectUsable(
  all: readonly Endpoint[],
  healthOf: (address: string) => Readonly<EndpointHealth> | undefined,
  now: number,
): UsableSelection {
  const ready = all.every((e) => e.ready) ? all : all.filter((e) => e.ready);
  const candidates = ready.length > 0 ? frozen(ready) : frozen(all.filter((e) => e.serving && e.terminating));
  let staleAt = Infinity;
  const healthy: Endpoint[] = [];
  for (const endpoint of candidates) {
    const health = healthOf(endpoint.address);
    const ejected = health !== undefined && health.ejectedUntil > now;
    if (ejected) staleAt = Math.min(staleAt, health.ejectedUntil);
    if (!ejected && health?.failedActiveCheck !== true) healthy.push(endpoint);
  }
  const panic = healthy.length === 0 && candidates.length > 0;
  const healthyList = healthy.length === candidates.length ? candidates : frozen(healthy);
  return { candidates, healthy: healthyList, usable: panic ? candidates : healthyList, panic, staleAt };
}

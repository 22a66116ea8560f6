// Which endpoints to probe and how: one HealthCheckTarget per endpoint address,
// from the health-check policies of the routes in a RouteTable and the registry's
// current endpoints. Pure apart from reading the registry.
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { BackendRef, HealthCheckPolicy, HostRoutes, RouteGroup, RouteTable } from "../routing/route-table.ts";

/** One endpoint to probe. */
export interface HealthCheckTarget {
  /** `ip:port` of traffic: the registry key whose flag the probes set. */
  address: string;
  ip: string;
  /** Probe port: the policy's port, else the traffic port. */
  port: number;
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Host header; default `address`. */
  hostHeader?: string;
  /** The backend whose policy was chosen, for log lines. */
  backendKey: string;
}

interface BackendCheck {
  backend: BackendRef;
  check: HealthCheckPolicy;
}

/** Per table: backend key -> the check settings to use (the table is immutable, so this is computed once). */
const checksByTable = new WeakMap<RouteTable, readonly BackendCheck[]>();
/** Per host, the same; successive tables share the routes of unchanged hosts. */
const checksByHost = new WeakMap<HostRoutes, readonly BackendCheck[]>();

function groupsOfHost(host: HostRoutes): RouteGroup[] {
  return [...host.exact.values(), ...host.prefix.values(), ...(host.fallback ? [host.fallback] : [])];
}

/**
 * Pure. Total order deciding which settings win when several routes check the same
 * endpoint differently: the shortest interval (the most demanding route), then the
 * shortest timeout, lower thresholds, then path, port and backend key, so the
 * choice never depends on table order.
 */
export function compareHealthChecks(a: HealthCheckPolicy & { backendKey: string }, b: HealthCheckPolicy & { backendKey: string }): number {
  return (
    a.intervalMs - b.intervalMs ||
    a.timeoutMs - b.timeoutMs ||
    a.unhealthyThreshold - b.unhealthyThreshold ||
    a.healthyThreshold - b.healthyThreshold ||
    compareStrings(a.path, b.path) ||
    (a.port ?? 0) - (b.port ?? 0) ||
    compareStrings(a.backendKey, b.backendKey)
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every (backend, check) pair the groups' members ask for. */
function checksOf(groups: readonly RouteGroup[]): BackendCheck[] {
  const checks: BackendCheck[] = [];
  for (const group of groups) {
    for (const member of [...group.conditioned, ...group.weighted]) {
      if (member.policy.healthCheck) checks.push({ backend: member.backend, check: member.policy.healthCheck });
    }
  }
  return checks;
}

/** Per backend, the candidate `compareHealthChecks` puts first. */
function winningChecks(candidates: readonly BackendCheck[]): BackendCheck[] {
  const byKey = new Map<string, BackendCheck>();
  for (const candidate of candidates) {
    const key = candidate.backend.key;
    const current = byKey.get(key);
    if (!current || compareHealthChecks({ ...candidate.check, backendKey: key }, { ...current.check, backendKey: key }) < 0) {
      byKey.set(key, candidate);
    }
  }
  return [...byKey.values()];
}

function hostChecks(host: HostRoutes): readonly BackendCheck[] {
  let checks = checksByHost.get(host);
  if (!checks) {
    checks = winningChecks(checksOf(groupsOfHost(host)));
    checksByHost.set(host, checks);
  }
  return checks;
}

/** Pure. For each backend some route health-checks, the winning settings among its routes. */
export function backendHealthChecks(table: RouteTable): readonly BackendCheck[] {
  const cached = checksByTable.get(table);
  if (cached) return cached;
  const hosts = [...table.exactHosts.values(), ...table.wildcardHosts.values(), ...(table.anyHost ? [table.anyHost] : [])];
  const candidates = hosts.flatMap(hostChecks);
  if (table.defaultBackend) candidates.push(...checksOf([table.defaultBackend]));
  const result = Object.freeze(winningChecks(candidates).sort((a, b) => compareStrings(a.backend.key, b.backend.key)));
  checksByTable.set(table, result);
  return result;
}

/**
 * One target per endpoint address that some route health-checks, sorted by address.
 * Only endpoints that are ready or still serving are probed (others take no traffic).
 * An address in several checked backends gets the settings `compareHealthChecks` puts first.
 */
export function healthCheckTargets(table: RouteTable, registry: EndpointRegistry): HealthCheckTarget[] {
  const byAddress = new Map<string, HealthCheckTarget>();
  for (const { backend, check } of backendHealthChecks(table)) {
    for (const endpoint of registry.endpointSet(backend).all) {
      if (!endpoint.ready && !endpoint.serving) continue;
      const target: HealthCheckTarget = {
        address: endpoint.address,
        ip: endpoint.ip,
        port: check.port ?? endpoint.port,
        path: check.path,
        intervalMs: check.intervalMs,
        timeoutMs: check.timeoutMs,
        healthyThreshold: check.healthyThreshold,
        unhealthyThreshold: check.unhealthyThreshold,
        backendKey: backend.key,
      };
      const current = byAddress.get(endpoint.address);
      if (!current || preferTarget(target, current)) byAddress.set(endpoint.address, target);
    }
  }
  return [...byAddress.values()].sort((a, b) => compareStrings(a.address, b.address));
}

/** Pure. Whether `candidate` should replace `current` for the same address. */
export function preferTarget(candidate: HealthCheckTarget, current: HealthCheckTarget): boolean {
  return compareHealthChecks(candidate, current) < 0;
}

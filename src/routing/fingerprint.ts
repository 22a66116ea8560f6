// A canonical text form of a RouteTable: equal tables give equal strings, so the
// reconciler can skip publishing a rebuild that changed nothing.
import type { BackendRef, HostRoutes, RouteTable } from "./route-table.ts";

/**
 * Translation builds every Map and object in a deterministic (sorted) order, so
 * plain JSON with Maps and RegExps spelled out is canonical — and native speed,
 * which matters at thousands of Ingresses.
 */
function replacer(key: string, value: unknown): unknown {
  // Members of one Ingress share one policy object, and successive tables share the
  // routes of unchanged hosts: serialise each of those once.
  if (key === "policy" && typeof value === "object" && value !== null) return cachedText(value);
  if (value instanceof Map) return { $map: [...(value as Map<unknown, unknown>)].map(([k, v]) => [k, isHostRoutes(v) ? cachedText(v) : v]) };
  if (value instanceof RegExp) return { $regex: value.source, flags: value.flags };
  return value;
}

function isHostRoutes(value: unknown): value is HostRoutes {
  return typeof value === "object" && value !== null && "exact" in value && "prefix" in value && "host" in value;
}

const texts = new WeakMap<object, string>();

/** Tables are never mutated once built, so a text, once computed, stays right. */
function cachedText(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value, replacer);
    texts.set(value, text);
  }
  return text;
}

function sortedHosts(hosts: ReadonlyMap<string, HostRoutes>): Map<string, HostRoutes> {
  return new Map([...hosts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Canonical text of everything a table routes by (conditions, weights, policies,
 * TLS...). Host Maps are read in key order: a table updated in place may hold them
 * in another order than one built from scratch, and routes the same.
 */
export function routeTableFingerprint(table: RouteTable): string {
  const canonical = { ...table, exactHosts: sortedHosts(table.exactHosts), wildcardHosts: sortedHosts(table.wildcardHosts), anyHost: table.anyHost && cachedText(table.anyHost) };
  return JSON.stringify(canonical, replacer);
}

function sameHosts(a: ReadonlyMap<string, HostRoutes>, b: ReadonlyMap<string, HostRoutes>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, routes] of a) {
    const other = b.get(key);
    if (other === undefined || (routes !== other && cachedText(routes) !== cachedText(other))) return false;
  }
  return true;
}

/** Equal fingerprints, compared host by host: hosts shared by both tables cost nothing. */
export function routeTablesEqual(a: RouteTable, b: RouteTable): boolean {
  if (a === b) return true;
  if (!sameHosts(a.exactHosts, b.exactHosts) || !sameHosts(a.wildcardHosts, b.wildcardHosts)) return false;
  const anyA = a.anyHost && cachedText(a.anyHost);
  const anyB = b.anyHost && cachedText(b.anyHost);
  if (anyA !== anyB) return false;
  if (JSON.stringify(a.defaultBackend ?? null, replacer) !== JSON.stringify(b.defaultBackend ?? null, replacer)) return false;
  return a.backends === b.backends || (a.backends.length === b.backends.length && a.backends.every((backend, i) => backendRefsEqual(backend, b.backends[i])));
}

export function backendRefsEqual(a: BackendRef, b: BackendRef | undefined): boolean {
  return a === b || (b !== undefined && a.key === b.key && a.namespace === b.namespace && a.service === b.service && a.port === b.port && a.portName === b.portName);
}

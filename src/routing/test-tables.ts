// Test-only builders for hand-made RouteTables (routing tests must not depend on
// translation, which sits upstream).
import type {
  BackendPolicy,
  HostRoutes,
  MatchCondition,
  PathType,
  RouteGroup,
  RouteMember,
  RouteTable,
} from "./route-table.ts";
import type { RouteRequest } from "./request.ts";
import { routeGroup } from "./route-table.ts";

export const TEST_POLICY: BackendPolicy = {
  loadBalance: "round-robin",
  ewmaDecayMs: 10_000,
  maxFails: 0,
  failOn5xx: false,
  retries: 0,
  retryOn: [],
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
  sslRedirect: false,
};

export function member(name: string, options: { weight?: number; conditions?: MatchCondition[] } = {}): RouteMember {
  return {
    source: { namespace: "default", name },
    backend: { key: `default/${name}:80`, namespace: "default", service: name, port: 80, portName: "" },
    conditions: options.conditions ?? [],
    weight: options.weight ?? 0,
    policy: TEST_POLICY,
  };
}

export function group(host: string, path: string, pathType: PathType, members: RouteMember[]): RouteGroup {
  const conditioned = members.filter((m) => m.conditions.length > 0);
  const weighted = members.filter((m) => m.conditions.length === 0 && m.weight > 0);
  return routeGroup(host, path, pathType, conditioned, weighted);
}

/** A host with one backend per path; "Exact:/x" or "/x" (Prefix, written as the table stores it). */
export function hostRoutes(host: string, paths: Record<string, string>, fallback?: string): HostRoutes {
  const routes: HostRoutes = { host, exact: new Map(), prefix: new Map() };
  for (const [spec, backend] of Object.entries(paths)) {
    const exact = spec.startsWith("Exact:");
    const path = exact ? spec.slice("Exact:".length) : spec;
    const g = group(host, path, exact ? "Exact" : "Prefix", [member(backend, { weight: 100 })]);
    (exact ? routes.exact : routes.prefix).set(path, g);
  }
  if (fallback !== undefined) routes.fallback = group(host, "", "Prefix", [member(fallback, { weight: 100 })]);
  return routes;
}

export function table(hosts: HostRoutes[], defaultBackend?: string): RouteTable {
  const t: RouteTable = { exactHosts: new Map(), wildcardHosts: new Map(), backends: [] };
  for (const h of hosts) {
    if (h.host === "") t.anyHost = h;
    else if (h.host.startsWith("*.")) t.wildcardHosts.set(h.host.slice(2), h);
    else t.exactHosts.set(h.host, h);
  }
  if (defaultBackend !== undefined) t.defaultBackend = group("", "", "Prefix", [member(defaultBackend, { weight: 100 })]);
  return t;
}

export interface FakeRequestInit {
  host?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  cookies?: Record<string, string | string[]>;
  query?: Record<string, string | string[]>;
}

/** A RouteRequest over plain records that counts how often each lookup kind is used. */
export function fakeRequest(init: FakeRequestInit): RouteRequest & { lookups: { header: number; cookie: number; query: number } } {
  const lookups = { header: 0, cookie: 0, query: 0 };
  return {
    host: init.host ?? "example.com",
    path: init.path ?? "/",
    lookups,
    header(name) {
      lookups.header++;
      return init.headers?.[name];
    },
    cookie(name) {
      lookups.cookie++;
      return init.cookies?.[name];
    },
    query(name) {
      lookups.query++;
      return init.query?.[name];
    },
  };
}

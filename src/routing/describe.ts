// describeRouteTable: a JSON-friendly, stably ordered view of a RouteTable for
// /debug/routes and golden test fixtures.
import type {
  BackendPolicy,
  BackendRef,
  HostRoutes,
  MatchCondition,
  PathType,
  RouteGroup,
  RouteMember,
  RouteTable,
} from "./route-table.ts";

export interface DescribedCondition {
  source: MatchCondition["source"];
  name: string;
  op: MatchCondition["op"];
  /** The value to equal, or the pattern text of a regex; absent for "present". */
  value?: string;
}

export interface DescribedMember {
  /** namespace/name of the Ingress (or default Service) this member came from. */
  source: string;
  /** BackendRef.key */
  backend: string;
  weight: number;
  conditions: DescribedCondition[];
  policy: BackendPolicy;
}

export interface DescribedGroup {
  /** As a user writes it: "/" for the root prefix. */
  path: string;
  pathType: PathType;
  conditioned: DescribedMember[];
  weighted: DescribedMember[];
  totalWeight: number;
}

export interface DescribedHost {
  /** "" for rules without host. */
  host: string;
  match: "exact" | "wildcard" | "any";
  tlsSecret?: string;
  routes: DescribedGroup[];
  fallback?: DescribedGroup;
}

export interface DescribedRouteTable {
  /** Exact hosts, then wildcards, then the any-host entry, each sorted by name. */
  hosts: DescribedHost[];
  defaultBackend?: DescribedGroup;
  backends: BackendRef[];
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describeCondition(condition: MatchCondition): DescribedCondition {
  const out: DescribedCondition = { source: condition.source, name: condition.name, op: condition.op };
  const value = condition.value ?? condition.regex?.source;
  if (condition.op !== "present" && value !== undefined) out.value = value;
  return out;
}

function describeMember(member: RouteMember): DescribedMember {
  return {
    source: `${member.source.namespace}/${member.source.name}`,
    backend: member.backend.key,
    weight: member.weight,
    conditions: member.conditions.map(describeCondition),
    // Policies are plain data; the round trip drops keys that are undefined.
    policy: JSON.parse(JSON.stringify(member.policy)) as BackendPolicy,
  };
}

export function describeRouteGroup(group: RouteGroup): DescribedGroup {
  return {
    path: group.pathType === "Prefix" && group.path === "" ? "/" : group.path,
    pathType: group.pathType,
    conditioned: group.conditioned.map(describeMember),
    weighted: group.weighted.map(describeMember),
    totalWeight: group.totalWeight,
  };
}

function describeHost(routes: HostRoutes, match: DescribedHost["match"]): DescribedHost {
  const groups = [...routes.exact.values(), ...routes.prefix.values()].sort(
    (a, b) => compareStrings(a.path, b.path) || compareStrings(a.pathType, b.pathType),
  );
  const out: DescribedHost = {
    host: routes.host,
    match,
    ...(routes.tlsSecret !== undefined ? { tlsSecret: routes.tlsSecret } : {}),
    routes: groups.map(describeRouteGroup),
  };
  if (routes.fallback) out.fallback = describeRouteGroup(routes.fallback);
  return out;
}

function sortedValues<T>(map: ReadonlyMap<string, T>): T[] {
  return [...map.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, value]) => value);
}

export function describeRouteTable(table: RouteTable): DescribedRouteTable {
  const hosts = [
    ...sortedValues(table.exactHosts).map((h) => describeHost(h, "exact")),
    ...sortedValues(table.wildcardHosts).map((h) => describeHost(h, "wildcard")),
  ];
  if (table.anyHost) hosts.push(describeHost(table.anyHost, "any"));
  const out: DescribedRouteTable = { hosts, backends: [] };
  if (table.defaultBackend) out.defaultBackend = describeRouteGroup(table.defaultBackend);
  out.backends = [...table.backends].sort((a, b) => compareStrings(a.key, b.key)).map((b) => ({ ...b }));
  return out;
}

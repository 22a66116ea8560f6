// matchRoute: request -> route member. Host first (exact, one-label wildcard, any
// host), then that host's paths only: Exact, then Prefix from the longest segment
// boundary down to root, then the host's fallback, then the table's default backend.
import { conditionsHold } from "./conditions.ts";
import type { RouteRequest } from "./request.ts";
import { normaliseRequestHost } from "./request.ts";
import type { HostRoutes, RouteGroup, RouteMember, RouteTable } from "./route-table.ts";

export interface RouteMatch {
  group: RouteGroup;
  member: RouteMember;
  /** "route": a path rule; "fallback": the host's defaultBackend; "default": the table's default backend. */
  via: "route" | "fallback" | "default";
  /** The host entry the request's Host selected; undefined when none did. */
  hostRoutes: HostRoutes | undefined;
}

/** The key a `*.suffix` wildcard would have for this (normalised) host: it covers exactly one non-empty leading label. */
export function wildcardKeyOf(host: string): string | undefined {
  const dot = host.indexOf(".");
  return dot > 0 ? host.slice(dot + 1) : undefined;
}

/** The HostRoutes for a raw Host header value: exact, else wildcard, else any-host. */
export function selectHostRoutes(table: RouteTable, rawHost: string): HostRoutes | undefined {
  const host = normaliseRequestHost(rawHost);
  const exact = table.exactHosts.get(host);
  if (exact) return exact;
  const suffix = wildcardKeyOf(host);
  return (suffix !== undefined ? table.wildcardHosts.get(suffix) : undefined) ?? table.anyHost;
}

/**
 * The member of `group` that takes the request: the first conditioned member whose
 * conditions all hold, else one weighted member picked with `random` (uniform in
 * [0, 1)); undefined when neither applies.
 */
export function pickMember(group: RouteGroup, request: RouteRequest, random: () => number): RouteMember | undefined {
  if (group.sole) return group.sole;
  for (const member of group.conditioned) {
    if (conditionsHold(member.conditions, request)) return member;
  }
  const weighted = group.weighted;
  if (weighted.length === 0 || !(group.totalWeight > 0)) return undefined;
  if (weighted.length === 1) return weighted[0];
  let remaining = random() * group.totalWeight;
  for (const member of weighted) {
    remaining -= member.weight;
    if (remaining < 0) return member;
  }
  // Rounding can leave a hair of weight unassigned: it belongs to the last member.
  return weighted[weighted.length - 1];
}

function withoutTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47 /* "/" */) end--;
  return end === path.length ? path : path.slice(0, end);
}

function matchPaths(
  routes: HostRoutes,
  path: string,
  request: RouteRequest,
  random: () => number,
): { group: RouteGroup; member: RouteMember } | undefined {
  const exact = routes.exact.get(path);
  if (exact) {
    const member = pickMember(exact, request, random);
    if (member) return { group: exact, member };
  }
  if (routes.prefix.size === 0) return undefined;
  // Prefix keys carry no trailing slash, so "/a/b/" and "/a/b" both look up "/a/b",
  // then "/a", then "" (the root prefix).
  let key = withoutTrailingSlashes(path);
  for (;;) {
    const group = routes.prefix.get(key);
    if (group) {
      const member = pickMember(group, request, random);
      if (member) return { group, member };
    }
    if (key === "") return undefined;
    const slash = key.lastIndexOf("/");
    key = slash <= 0 ? "" : withoutTrailingSlashes(key.slice(0, slash));
  }
}

/** The route a request takes, or undefined (404) when nothing, not even a default backend, takes it. */
export function matchRoute(table: RouteTable, request: RouteRequest, random: () => number): RouteMatch | undefined {
  const hostRoutes = selectHostRoutes(table, request.host);
  if (hostRoutes) {
    const path = request.path === "" ? "/" : request.path;
    const found = matchPaths(hostRoutes, path, request, random);
    if (found) return { ...found, via: "route", hostRoutes };
    if (hostRoutes.fallback) {
      const member = pickMember(hostRoutes.fallback, request, random);
      if (member) return { group: hostRoutes.fallback, member, via: "fallback", hostRoutes };
    }
  }
  if (table.defaultBackend) {
    const member = pickMember(table.defaultBackend, request, random);
    if (member) return { group: table.defaultBackend, member, via: "default", hostRoutes };
  }
  return undefined;
}

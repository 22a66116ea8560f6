// One host's routes from the Ingresses that contribute to it (oldest first): its
// route groups, its fallback (the defaultBackend of the oldest Ingress with rules for
// it) and its TLS Secret. A host that routes nothing is pruned (no HostRoutes).
import type { BackendRef, Diagnostic, HostRoutes, RouteGroup } from "../routing/index.ts";
import type { HostKind, IngressExpansion, RouteEntry } from "./ingress-expansion.ts";
import type { UsableIngress } from "./ingress-versions.ts";
import { buildRouteGroups } from "./route-groups.ts";
import { tlsSecretFor } from "./tls.ts";

/**
 * Shared by every host without Exact (or without Prefix) paths, as most have none:
 * tables are never modified once built, and an empty Map costs a few hundred bytes.
 */
const NO_GROUPS: Map<string, RouteGroup> = new Map();

export interface BuiltHost {
  hostKey: string;
  kind: HostKind;
  /** Undefined when every rule was dropped and there is no fallback. */
  routes: HostRoutes | undefined;
  /** The Ingress whose defaultBackend is this host's fallback. */
  fallbackOwner: UsableIngress | undefined;
  /** Every backend the host's routes use, once each. */
  backends: BackendRef[];
  diagnostics: Diagnostic[];
}

function backendsOf(routes: HostRoutes): BackendRef[] {
  const byKey = new Map<string, BackendRef>();
  const add = (group: RouteGroup): void => {
    for (const member of group.conditioned) byKey.set(member.backend.key, member.backend);
    for (const member of group.weighted) byKey.set(member.backend.key, member.backend);
  };
  for (const group of routes.exact.values()) add(group);
  for (const group of routes.prefix.values()) add(group);
  if (routes.fallback) add(routes.fallback);
  return [...byKey.values()];
}

/** `contributors`: oldest first, each declaring `hostKey` or naming a TLS Secret for it. */
export function buildHostRoutes(hostKey: string, contributors: readonly IngressExpansion[]): BuiltHost {
  const diagnostics: Diagnostic[] = [];
  const entries: RouteEntry[] = [];
  let kind: HostKind | undefined;
  let fallbackOwner: IngressExpansion | undefined;
  for (const contributor of contributors) {
    const declared = contributor.hosts.get(hostKey);
    if (!declared) continue;
    kind ??= declared;
    if (!fallbackOwner && contributor.defaultGroup) fallbackOwner = contributor;
    entries.push(...(contributor.entriesByHost.get(hostKey) ?? []));
  }

  const exact = new Map<string, RouteGroup>();
  const prefix = new Map<string, RouteGroup>();
  // Groups arrive sorted by path type and path, so both Maps fill in a stable order.
  for (const { group } of buildRouteGroups(entries, diagnostics)) {
    (group.pathType === "Exact" ? exact : prefix).set(group.path, group);
  }
  const routes: HostRoutes = { host: hostKey, exact: exact.size > 0 ? exact : NO_GROUPS, prefix: prefix.size > 0 ? prefix : NO_GROUPS };
  if (fallbackOwner?.defaultGroup) routes.fallback = { ...structuredClone(fallbackOwner.defaultGroup), host: hostKey };
  const routesSomething = routes.exact.size > 0 || routes.prefix.size > 0 || routes.fallback !== undefined;
  if (routesSomething) {
    const secret = tlsSecretFor(hostKey, contributors, diagnostics);
    if (secret !== undefined) routes.tlsSecret = secret;
  }
  return {
    hostKey,
    kind: kind ?? { kind: "exact", lookupKey: hostKey },
    routes: routesSomething ? routes : undefined,
    fallbackOwner: fallbackOwner?.source,
    backends: routesSomething ? backendsOf(routes) : [],
    diagnostics,
  };
}

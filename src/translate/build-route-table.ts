// buildRouteTable: the pure translation Snapshot -> { RouteTable, diagnostics }. It
// runs the processors in order on a fresh model, prunes hosts that route nothing
// and sorts everything, so equal snapshots give equal results.
import type { BackendRef, Diagnostic, HostRoutes, RouteGroup, RouteTable, TranslationResult } from "../routing/index.ts";
import type { Snapshot } from "../store/index.ts";
import { backendResolver, servicePortResolver } from "./backend-resolution.ts";
import { resolveDefaultBackends } from "./default-backends.ts";
import { sortDiagnostics } from "./diagnostics.ts";
import { ownershipTest } from "./ingress-class.ts";
import { chooseIngressVersions } from "./ingress-versions.ts";
import { compareByAge, compareStrings } from "./ordering.ts";
import type { HostKind } from "./route-entries.ts";
import { expandRouteEntries } from "./route-entries.ts";
import { buildRouteGroups } from "./route-groups.ts";
import { assignTlsSecrets } from "./tls.ts";

function collectBackends(groups: Iterable<RouteGroup>): BackendRef[] {
  const byKey = new Map<string, BackendRef>();
  for (const group of groups) {
    for (const member of [...group.conditioned, ...group.weighted]) byKey.set(member.backend.key, member.backend);
  }
  return [...byKey.values()].sort((a, b) => compareStrings(a.key, b.key)).map((b) => ({ ...b }));
}

function emptyHost(host: string): HostRoutes {
  return { host, exact: new Map(), prefix: new Map() };
}

export function buildRouteTable(snapshot: Snapshot): TranslationResult {
  const diagnostics: Diagnostic[] = [];
  const isOurs = ownershipTest(snapshot.ingressClasses, snapshot.settings);
  const owned = snapshot.ingresses.filter(isOurs).sort(compareByAge);
  const { usable, accepted } = chooseIngressVersions(owned, snapshot.lastAccepted, isOurs, diagnostics);

  const resolve = backendResolver(snapshot.services);
  const resolvePort = servicePortResolver(snapshot.services);
  const { entries, hostDeclarations, hostKinds } = expandRouteEntries(usable, resolve, diagnostics);
  const groups = buildRouteGroups(entries, diagnostics);
  const { fallbacks, defaultBackend } = resolveDefaultBackends(
    usable,
    hostDeclarations,
    resolve,
    resolvePort,
    snapshot.settings,
    diagnostics,
  );

  // Groups arrive sorted by host, type and path, so every Map fills in a stable order.
  const hosts = new Map<string, HostRoutes>();
  for (const { hostKey, group } of groups) {
    let routes = hosts.get(hostKey);
    if (!routes) {
      routes = emptyHost(hostKey);
      hosts.set(hostKey, routes);
    }
    (group.pathType === "Exact" ? routes.exact : routes.prefix).set(group.path, group);
  }
  for (const [hostKey, fallback] of fallbacks) {
    let routes = hosts.get(hostKey);
    if (!routes) {
      routes = emptyHost(hostKey);
      hosts.set(hostKey, routes);
    }
    routes.fallback = fallback;
  }
  // Hosts whose every rule was dropped and that have no fallback are absent here
  // (pruned): their requests go on to the wildcard, any-host or default backend.
  assignTlsSecrets(usable, hosts, diagnostics);

  const table: RouteTable = { exactHosts: new Map(), wildcardHosts: new Map(), backends: [] };
  for (const hostKey of [...hosts.keys()].sort(compareStrings)) {
    const routes = hosts.get(hostKey) as HostRoutes;
    const kind: HostKind = hostKinds.get(hostKey) ?? { kind: "exact", lookupKey: hostKey };
    if (kind.kind === "any") table.anyHost = routes;
    else if (kind.kind === "wildcard") table.wildcardHosts.set(kind.lookupKey, routes);
    else table.exactHosts.set(kind.lookupKey, routes);
  }
  if (defaultBackend) table.defaultBackend = defaultBackend;

  const allGroups: RouteGroup[] = [];
  for (const routes of hosts.values()) {
    allGroups.push(...routes.exact.values(), ...routes.prefix.values());
    if (routes.fallback) allGroups.push(routes.fallback);
  }
  if (defaultBackend) allGroups.push(defaultBackend);
  table.backends = collectBackends(allGroups);

  return { table, diagnostics: sortDiagnostics(diagnostics), accepted };
}

// buildRouteTable: the pure translation Snapshot -> { RouteTable, diagnostics }.
// Each usable Ingress expands on its own, each host is built from the Ingresses
// that contribute to it, then the table is assembled in sorted order, so equal
// snapshots give equal results. A TranslationCache carried from one call to the
// next lets unchanged Ingresses and hosts be reused; the result is the same.
import type { BackendRef, Diagnostic, RouteTable, TranslationResult } from "../routing/index.ts";
import type { Service, Snapshot } from "../store/index.ts";
import { objectKey } from "../store/index.ts";
import { servicePortResolver } from "./backend-resolution.ts";
import { resolveDefaultBackend } from "./default-backends.ts";
import { sortDiagnostics } from "./diagnostics.ts";
import type { BuiltHost } from "./host-routes.ts";
import { ownershipTest } from "./ingress-class.ts";
import type { IngressExpansion } from "./ingress-expansion.ts";
import { chooseIngressVersions } from "./ingress-versions.ts";
import { TranslationCache } from "./translation-cache.ts";

/** Host key -> expansions declaring it or naming a TLS Secret for it, oldest first; only declared hosts. */
function contributorsByHost(expansions: readonly IngressExpansion[]): Map<string, IngressExpansion[]> {
  const byHost = new Map<string, IngressExpansion[]>();
  const add = (hostKey: string, expansion: IngressExpansion): void => {
    const list = byHost.get(hostKey);
    if (!list) byHost.set(hostKey, [expansion]);
    else if (list[list.length - 1] !== expansion) list.push(expansion);
  };
  for (const expansion of expansions) {
    for (const hostKey of expansion.hosts.keys()) add(hostKey, expansion);
    for (const claim of expansion.tls) add(claim.host, expansion);
  }
  for (const [hostKey, list] of byHost) {
    if (!list.some((expansion) => expansion.hosts.has(hostKey))) byHost.delete(hostKey);
  }
  return byHost;
}

function backendsByKey(builtHosts: Iterable<BuiltHost>, defaultBackend: RouteTable["defaultBackend"]): Map<string, BackendRef> {
  const byKey = new Map<string, BackendRef>();
  for (const built of builtHosts) for (const backend of built.backends) byKey.set(backend.key, backend);
  for (const member of defaultBackend?.weighted ?? []) byKey.set(member.backend.key, member.backend);
  return byKey;
}

export function buildRouteTable(snapshot: Snapshot, cache: TranslationCache = new TranslationCache()): TranslationResult {
  const diagnostics: Diagnostic[] = [];
  const isOurs = ownershipTest(snapshot.ingressClasses, snapshot.settings);
  const owned = snapshot.ingresses.filter(isOurs);
  const versions = chooseIngressVersions(owned, snapshot.lastAccepted, isOurs, diagnostics);
  const usable = cache.orderByAge(versions.usable);

  const services = new Map<string, Service>();
  for (const service of snapshot.services) services.set(objectKey(service.meta), service);
  const expansions = usable.map((source) => cache.expansion(source, services));
  for (const expansion of expansions) diagnostics.push(...expansion.diagnostics);

  const builtHosts = cache.hosts(contributorsByHost(expansions));
  const defaultBackend = resolveDefaultBackend(
    expansions,
    builtHosts,
    servicePortResolver((key) => services.get(key)),
    snapshot.settings,
    diagnostics,
  );

  const table: RouteTable = { exactHosts: new Map(), wildcardHosts: new Map(), backends: [] };
  const routed: BuiltHost[] = [];
  for (const hostKey of cache.orderHosts(builtHosts)) {
    const built = builtHosts.get(hostKey) as BuiltHost;
    diagnostics.push(...built.diagnostics);
    // Hosts whose every rule was dropped and that have no fallback are left out:
    // their requests go on to the wildcard, any-host or default backend.
    const routes = built.routes;
    if (!routes) continue;
    routed.push(built);
    if (built.kind.kind === "any") table.anyHost = routes;
    else if (built.kind.kind === "wildcard") table.wildcardHosts.set(built.kind.lookupKey, routes);
    else table.exactHosts.set(built.kind.lookupKey, routes);
  }
  if (defaultBackend) table.defaultBackend = defaultBackend;
  table.backends = cache.orderBackends(backendsByKey(routed, defaultBackend));

  return { table, diagnostics: sortDiagnostics(diagnostics), accepted: cache.orderAccepted(versions.accepted) };
}

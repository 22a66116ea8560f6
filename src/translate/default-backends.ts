// The global default backend: the defaultBackend of the oldest Ingress that has one
// catches what no host or host fallback takes, else --default-backend-service. Host
// fallbacks themselves are chosen per host (host-routes.ts).
import { DEFAULT_BACKEND_POLICY } from "../config/annotations.ts";
import type { Diagnostic, RouteGroup } from "../routing/index.ts";
import type { TranslateSettings } from "../store/index.ts";
import type { ServicePortResolver } from "./backend-resolution.ts";
import { ingressDiagnostic } from "./diagnostics.ts";
import type { IngressExpansion } from "./ingress-expansion.ts";
import type { UsableIngress } from "./ingress-versions.ts";
import { routeMember, singleBackendGroup } from "./members.ts";

function hostList(hosts: readonly string[]): string {
  return hosts.map((h) => (h === "" ? "(rules without host)" : JSON.stringify(h))).join(", ");
}

function settingsDefaultBackend(
  settings: TranslateSettings,
  resolvePort: ServicePortResolver,
  diagnostics: Diagnostic[],
): RouteGroup | undefined {
  const configured = settings.defaultBackendService;
  if (!configured) return undefined;
  const resolved = resolvePort(configured.namespace, configured.name, configured.port);
  if (!resolved.ok) {
    diagnostics.push({
      ref: { kind: "Service", namespace: configured.namespace, name: configured.name },
      severity: "Warning",
      reason: resolved.reason,
      message: `--default-backend-service: ${resolved.why}; requests no route takes get 404`,
    });
    return undefined;
  }
  return singleBackendGroup("", routeMember(configured, resolved.backend, [], 100, DEFAULT_BACKEND_POLICY));
}

/** The Ingress defaultBackend of an Ingress that is not the global one still serves its hosts' unmatched paths: say which. */
function conflictDiagnostic(loser: IngressExpansion, winnerKey: string, fallbackOwnerOf: FallbackOwnerOf): Diagnostic {
  const declared = [...loser.hosts.keys()];
  const ownHosts = declared.filter((h) => fallbackOwnerOf(h) === loser.source).sort();
  const lostHosts = declared.filter((h) => fallbackOwnerOf(h) !== loser.source).sort();
  const parts = [
    `the defaultBackend is not the global default backend (for requests no rule or host fallback takes): Ingress ${winnerKey} was ` +
      "created earlier (or sorts first by namespace/name) and has one",
  ];
  if (ownHosts.length > 0) parts.push(`it still serves unmatched paths of ${hostList(ownHosts)}`);
  if (lostHosts.length > 0) parts.push(`unmatched paths of ${hostList(lostHosts)} go to the defaultBackend of an older Ingress`);
  return ingressDiagnostic(loser.source.ingress.meta, "Warning", "DefaultBackendConflict", parts.join("; "));
}

/** The Ingress whose defaultBackend is a host's fallback, by host key. */
export type FallbackOwnerOf = (hostKey: string) => UsableIngress | undefined;

/** `expansions` oldest first. */
export function resolveDefaultBackend(
  expansions: readonly IngressExpansion[],
  fallbackOwnerOf: FallbackOwnerOf,
  resolvePort: ServicePortResolver,
  settings: TranslateSettings,
  diagnostics: Diagnostic[],
): RouteGroup | undefined {
  const withDefault = expansions.filter((expansion) => expansion.defaultGroup !== undefined);
  const [global, ...others] = withDefault;
  if (!global?.defaultGroup) return settingsDefaultBackend(settings, resolvePort, diagnostics);
  for (const loser of others) diagnostics.push(conflictDiagnostic(loser, global.source.key, fallbackOwnerOf));
  return global.defaultGroup;
}

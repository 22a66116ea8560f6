// Default backends. Per host: the defaultBackend of the oldest Ingress with rules for
// that host catches that host's unmatched paths. Globally: the oldest Ingress
// defaultBackend catches what no host or fallback takes, else --default-backend-service.
import { DEFAULT_BACKEND_POLICY } from "../config/annotations.ts";
import type { Diagnostic, RouteGroup } from "../routing/index.ts";
import type { TranslateSettings } from "../store/index.ts";
import type { BackendResolver, ServicePortResolver } from "./backend-resolution.ts";
import { ingressDiagnostic } from "./diagnostics.ts";
import type { UsableIngress } from "./ingress-versions.ts";
import { routeMember, singleBackendGroup } from "./members.ts";

export interface DefaultBackends {
  /** Host key -> fallback group. */
  fallbacks: Map<string, RouteGroup>;
  defaultBackend: RouteGroup | undefined;
}

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

/** `usable` oldest first; `hostDeclarations` as from expandRouteEntries. */
export function resolveDefaultBackends(
  usable: readonly UsableIngress[],
  hostDeclarations: ReadonlyMap<string, readonly UsableIngress[]>,
  resolve: BackendResolver,
  resolvePort: ServicePortResolver,
  settings: TranslateSettings,
  diagnostics: Diagnostic[],
): DefaultBackends {
  const groupsByIngress = new Map<UsableIngress, RouteGroup>();
  for (const source of usable) {
    const { ingress, annotations } = source;
    if (!ingress.defaultBackend) continue;
    const resolved = resolve(ingress.meta.namespace, ingress.defaultBackend);
    if (!resolved.ok) {
      diagnostics.push(
        ingressDiagnostic(ingress.meta, "Warning", resolved.reason, `defaultBackend: ${resolved.why}; it is not used`),
      );
      continue;
    }
    const member = routeMember(ingress.meta, resolved.backend, [], 100, annotations.policy);
    groupsByIngress.set(source, singleBackendGroup("", member));
  }

  const fallbacks = new Map<string, RouteGroup>();
  const fallbackOwner = new Map<string, UsableIngress>();
  for (const [hostKey, declaring] of hostDeclarations) {
    const owner = declaring.find((source) => groupsByIngress.has(source));
    const group = owner && groupsByIngress.get(owner);
    if (!owner || !group) continue;
    fallbacks.set(hostKey, { ...structuredClone(group), host: hostKey });
    fallbackOwner.set(hostKey, owner);
  }

  const globalOwner = usable.find((source) => groupsByIngress.has(source));
  for (const [source] of groupsByIngress) {
    if (source === globalOwner || !globalOwner) continue;
    const declared = [...hostDeclarations].filter(([, declaring]) => declaring.includes(source));
    const ownHosts = declared.filter(([hostKey]) => fallbackOwner.get(hostKey) === source).map(([h]) => h).sort();
    const lostHosts = declared.filter(([hostKey]) => fallbackOwner.get(hostKey) !== source).map(([h]) => h).sort();
    const parts = [
      `the defaultBackend is not the global default backend (for requests no rule or host fallback takes): Ingress ${globalOwner.key} was ` +
        "created earlier (or sorts first by namespace/name) and has one",
    ];
    if (ownHosts.length > 0) parts.push(`it still serves unmatched paths of ${hostList(ownHosts)}`);
    if (lostHosts.length > 0) {
      parts.push(`unmatched paths of ${hostList(lostHosts)} go to the defaultBackend of an older Ingress`);
    }
    diagnostics.push(ingressDiagnostic(source.ingress.meta, "Warning", "DefaultBackendConflict", parts.join("; ")));
  }

  const globalGroup = globalOwner ? groupsByIngress.get(globalOwner) : undefined;
  return {
    fallbacks,
    defaultBackend: globalGroup ?? settingsDefaultBackend(settings, resolvePort, diagnostics),
  };
}

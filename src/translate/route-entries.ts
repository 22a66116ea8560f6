// Expands usable Ingresses into route entries (one per valid host + path with a
// resolvable backend) and records which Ingresses declare which hosts. Every
// rejected host, path or backend becomes a diagnostic; the rest still routes.
import type { BackendRef, Diagnostic, PathType } from "../routing/index.ts";
import type { BackendResolver } from "./backend-resolution.ts";
import { describeRulePath, ingressDiagnostic } from "./diagnostics.ts";
import { parseRuleHost } from "./hosts.ts";
import type { UsableIngress } from "./ingress-versions.ts";
import { parseRulePath } from "./paths.ts";

export interface RouteEntry {
  /** "" (any host), "*.example.com" or "a.example.com". */
  hostKey: string;
  pathType: PathType;
  /** Prefix: without trailing slash ("" for "/"); Exact: as written. */
  pathKey: string;
  /** The path as written, for messages. */
  pathText: string;
  source: UsableIngress;
  backend: BackendRef;
  /** Declaration order within its Ingress (rules, then paths). */
  position: number;
}

export interface HostKind {
  kind: "any" | "exact" | "wildcard";
  /** Wildcards: the part after "*."; otherwise the key itself. */
  lookupKey: string;
}

export interface RouteEntries {
  entries: RouteEntry[];
  /** Host key -> Ingresses with a valid rule for it, oldest first. */
  hostDeclarations: Map<string, UsableIngress[]>;
  hostKinds: Map<string, HostKind>;
}

/** `usable` must be oldest first; declarations keep that order. */
export function expandRouteEntries(
  usable: readonly UsableIngress[],
  resolve: BackendResolver,
  diagnostics: Diagnostic[],
): RouteEntries {
  const entries: RouteEntry[] = [];
  const hostDeclarations = new Map<string, UsableIngress[]>();
  const hostKinds = new Map<string, HostKind>();

  for (const source of usable) {
    const { ingress } = source;
    const meta = ingress.meta;
    if (ingress.rules.length === 0 && !ingress.defaultBackend) {
      diagnostics.push(
        ingressDiagnostic(meta, "Warning", "EmptyIngress", "the Ingress has neither rules nor a defaultBackend; it routes nothing"),
      );
    }
    let position = 0;
    for (const rule of ingress.rules) {
      const host = parseRuleHost(rule.host);
      if (!host.ok) {
        diagnostics.push(
          ingressDiagnostic(meta, "Warning", "InvalidHost", `rule host ${JSON.stringify(rule.host)} ${host.why}; the rule is skipped`),
        );
        continue;
      }
      const declared = hostDeclarations.get(host.key);
      if (!declared) hostDeclarations.set(host.key, [source]);
      else if (declared[declared.length - 1] !== source) declared.push(source);
      hostKinds.set(host.key, { kind: host.kind, lookupKey: host.kind === "wildcard" ? host.suffix : host.key });

      if (rule.paths.length === 0 && !ingress.defaultBackend) {
        const hostText = host.key === "" ? "the rule without host" : `the rule for host ${JSON.stringify(host.key)}`;
        diagnostics.push(
          ingressDiagnostic(meta, "Warning", "RuleWithoutPaths", `${hostText} has no paths and the Ingress no defaultBackend; it routes nothing`),
        );
      }
      for (const path of rule.paths) {
        const where = describeRulePath(host.key, path.path, path.pathType);
        const parsedPath = parseRulePath(path.path, path.pathType);
        if (!parsedPath.ok) {
          diagnostics.push(ingressDiagnostic(meta, "Warning", parsedPath.reason, `${where}: ${parsedPath.why}; the path is skipped`));
          continue;
        }
        const backend = resolve(meta.namespace, path.backend);
        if (!backend.ok) {
          diagnostics.push(ingressDiagnostic(meta, "Warning", backend.reason, `${where}: ${backend.why}; the path is skipped`));
          continue;
        }
        entries.push({
          hostKey: host.key,
          pathType: parsedPath.pathType,
          pathKey: parsedPath.key,
          pathText: path.path ?? "",
          source,
          backend: backend.backend,
          position: position++,
        });
      }
    }
  }
  return { entries, hostDeclarations, hostKinds };
}

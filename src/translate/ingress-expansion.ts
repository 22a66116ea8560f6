// One usable Ingress version -> what it contributes to the table: route entries
// (one per valid host + path with a resolvable backend), the hosts it declares, the
// TLS Secrets it names per host, its defaultBackend group, and its diagnostics.
// Every rejected host, path or backend becomes a diagnostic; the rest still routes.
import type { BackendRef, Diagnostic, PathType, RouteGroup } from "../routing/index.ts";
import { objectKey } from "../store/index.ts";
import type { BackendResolver } from "./backend-resolution.ts";
import { describeRulePath, ingressDiagnostic } from "./diagnostics.ts";
import { parseRuleHost } from "./hosts.ts";
import type { UsableIngress } from "./ingress-versions.ts";
import { routeMember, singleBackendGroup } from "./members.ts";
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

/** A TLS Secret the Ingress names for a host (lower-cased as written in spec.tls). */
export interface TlsClaim {
  host: string;
  /** namespace/name */
  secretKey: string;
}

export interface IngressExpansion {
  source: UsableIngress;
  /** Entries of each declared host key, in declaration order. */
  entriesByHost: Map<string, RouteEntry[]>;
  /** Host keys with at least one valid rule, and how each is looked up. */
  hosts: Map<string, HostKind>;
  tls: TlsClaim[];
  /** The Ingress defaultBackend as a one-member group, when it resolves. */
  defaultGroup: RouteGroup | undefined;
  diagnostics: Diagnostic[];
}

function expandDefaultBackend(source: UsableIngress, resolve: BackendResolver, diagnostics: Diagnostic[]): RouteGroup | undefined {
  const { ingress, annotations } = source;
  if (!ingress.defaultBackend) return undefined;
  // A fallback takes every request nothing else takes: a canary's or a staged Ingress's would
  // take the host's (or every host's) unmatched traffic, whatever its conditions or weight say.
  if (annotations.weight !== undefined || annotations.conditions.length > 0) {
    const why = annotations.weight !== undefined ? "turnout.dev/weight" : "match conditions";
    diagnostics.push(ingressDiagnostic(ingress.meta, "Warning", "DefaultBackendIgnored", `defaultBackend: not used, since the Ingress takes only part of the traffic (${why}); a fallback would take all the rest`));
    return undefined;
  }
  const resolved = resolve(ingress.meta.namespace, ingress.defaultBackend);
  if (!resolved.ok) {
    diagnostics.push(ingressDiagnostic(ingress.meta, "Warning", resolved.reason, `defaultBackend: ${resolved.why}; it is not used`));
    return undefined;
  }
  return singleBackendGroup("", routeMember(ingress.meta, resolved.backend, [], 100, annotations.policy));
}

function tlsClaims(source: UsableIngress): TlsClaim[] {
  const { ingress } = source;
  const claims: TlsClaim[] = [];
  for (const tls of ingress.tls) {
    if (tls.secretName === undefined || tls.secretName === "") continue;
    const secretKey = objectKey({ namespace: ingress.meta.namespace, name: tls.secretName });
    for (const host of tls.hosts) claims.push({ host: host.toLowerCase(), secretKey });
  }
  return claims;
}

export function expandIngress(source: UsableIngress, resolve: BackendResolver): IngressExpansion {
  const { ingress } = source;
  const meta = ingress.meta;
  const diagnostics: Diagnostic[] = [];
  const entriesByHost = new Map<string, RouteEntry[]>();
  const hosts = new Map<string, HostKind>();
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
    hosts.set(host.key, { kind: host.kind, lookupKey: host.kind === "wildcard" ? host.suffix : host.key });
    let hostEntries = entriesByHost.get(host.key);
    if (!hostEntries) {
      hostEntries = [];
      entriesByHost.set(host.key, hostEntries);
    }

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
      hostEntries.push({
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
  const defaultGroup = expandDefaultBackend(source, resolve, diagnostics);
  return { source, entriesByHost, hosts, tls: tlsClaims(source), defaultGroup, diagnostics };
}

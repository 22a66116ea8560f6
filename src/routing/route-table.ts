// RouteTable: the immutable routing model translation produces and the proxy
// reads. Plain data (Maps, arrays, RegExps) so it can be structured-cloned to
// worker processes; it holds no reference to cluster objects and does no I/O.

/** Translation maps ImplementationSpecific to Prefix (documented in docs/routing.md). */
export type PathType = "Exact" | "Prefix";

/** A Service port as routes refer to it; endpoints are looked up by `key`. */
export interface BackendRef {
  /** `namespace/service:port` (port = the Service port number). */
  key: string;
  namespace: string;
  service: string;
  /** The Service port number. */
  port: number;
  /** The Service port name ("" when unnamed); EndpointSlice ports carry the same name. */
  portName: string;
}

export type MatchSource = "header" | "cookie" | "query";

/** One request condition from turnout.dev/match-headers, -cookies or -query. */
export interface MatchCondition {
  source: MatchSource;
  /** Header names are stored lower-case; cookie and query names as written. */
  name: string;
  op: "equals" | "regex" | "present";
  value?: string;
  /** Anchored, checked for catastrophic backtracking at parse time. */
  regex?: RegExp;
}

/** Every endpoint-picking policy, in a stable order (for validation, tests and docs). */
export const LOAD_BALANCE_POLICIES = ["round-robin", "random", "least-request", "ewma", "ring-hash", "maglev"] as const;

export type LoadBalancePolicy = (typeof LOAD_BALANCE_POLICIES)[number];

export type HashKeySource =
  | { kind: "header" | "cookie" | "query"; name: string }
  | { kind: "source-ip" | "path" | "uri" | "host" };

export interface AffinityPolicy {
  cookieName: string;
  /** Undefined: a session cookie. */
  maxAgeSeconds?: number;
}

export interface HealthCheckPolicy {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Undefined: the endpoint's traffic port. */
  port?: number;
}

export type RetryCondition = "connect-failure" | "reset" | "timeout" | "5xx" | "gateway-error";

/** How traffic to one member's backend is balanced, checked and retried. */
export interface BackendPolicy {
  loadBalance: LoadBalancePolicy;
  hashBy?: HashKeySource;
  affinity?: AffinityPolicy;
  ewmaDecayMs: number;
  healthCheck?: HealthCheckPolicy;
  maxFails: number;
  failOn5xx: boolean;
  retries: number;
  retryOn: RetryCondition[];
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** Undefined: no send timeout. */
  sendTimeoutMs?: number;
  sslRedirect: boolean;
}

/** One Ingress's contribution to a route group. */
export interface RouteMember {
  /** The Ingress this member came from. */
  source: { namespace: string; name: string };
  backend: BackendRef;
  /** All must hold; empty for unconditioned members. */
  conditions: MatchCondition[];
  /** Effective percent of the group's unconditioned traffic (after scaling); 0 for conditioned members. */
  weight: number;
  policy: BackendPolicy;
}

/** All Ingress rules of one host + path + pathType, cooperating. */
export interface RouteGroup {
  /** "" for rules without host, "*.example.com" for wildcards, else lower-case host. */
  host: string;
  /** As matched: Prefix paths have no trailing slash ("" is the root prefix "/"). */
  path: string;
  pathType: PathType;
  /** Tried in order; the first whose conditions all hold takes the request. */
  conditioned: RouteMember[];
  /** Unconditioned members with weight > 0; requests are split by weight. */
  weighted: RouteMember[];
  /** Sum of `weighted[i].weight`. */
  totalWeight: number;
  /**
   * The member every request takes when there is no choice to make (no conditioned
   * members, one weighted member): most groups. A lookup then reads no member array,
   * which counts when traffic spreads over thousands of hosts and each array read is
   * a cache miss.
   */
  sole?: RouteMember;
}

/** No conditioned members: one array for every such group, so it stays in cache. */
const NO_MEMBERS: RouteMember[] = [];

/** A RouteGroup with its derived fields (`totalWeight`, `sole`) filled in. */
export function routeGroup(host: string, path: string, pathType: PathType, conditioned: RouteMember[], weighted: RouteMember[]): RouteGroup {
  const group: RouteGroup = {
    host,
    path,
    pathType,
    conditioned: conditioned.length > 0 ? conditioned : NO_MEMBERS,
    weighted,
    totalWeight: weighted.reduce((sum, member) => sum + member.weight, 0),
  };
  if (conditioned.length === 0 && weighted.length === 1 && group.totalWeight > 0) group.sole = weighted[0];
  return group;
}

export interface HostRoutes {
  /** "" for rules without host, "*.example.com" for wildcards, else lower-case host. */
  host: string;
  /** Exact paths, keyed by path as written. */
  exact: Map<string, RouteGroup>;
  /** Prefix paths, keyed without trailing slash ("" for "/"). */
  prefix: Map<string, RouteGroup>;
  /** The defaultBackend of the oldest Ingress defining this host, for its unmatched paths. */
  fallback?: RouteGroup;
  /** TLS: the Secret (namespace/name) whose certificate serves this host, if any. */
  tlsSecret?: string;
}

export interface RouteTable {
  /** Lower-case host -> routes. */
  exactHosts: Map<string, HostRoutes>;
  /** Wildcard suffix without "*." (e.g. "example.com") -> routes. */
  wildcardHosts: Map<string, HostRoutes>;
  /** Rules without host. */
  anyHost?: HostRoutes;
  /** Catches what no host matched: oldest Ingress defaultBackend, else --default-backend-service. */
  defaultBackend?: RouteGroup;
  /** Every backend some route refers to, sorted by key. */
  backends: BackendRef[];
}

export type Severity = "Warning" | "Normal";

/** A problem found in translation; reported as log line, Event and metric. */
export interface Diagnostic {
  ref: { kind: string; namespace: string; name: string };
  severity: Severity;
  /** Stable PascalCase reason, e.g. ServiceNotFound, InvalidAnnotation, PathConflict. */
  reason: string;
  message: string;
}

export interface TranslationResult {
  table: RouteTable;
  diagnostics: Diagnostic[];
  /** Ingresses (namespace/name) whose current version was accepted into the table. */
  accepted: string[];
}

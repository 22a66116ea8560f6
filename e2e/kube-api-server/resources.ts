// The resource types the API test server serves, shared by the server (path routing,
// discovery) and the test client (kind -> path mapping). Plain data, no I/O.

export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural, lower case, as in URLs and RBAC rules. */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Has a `/status` subresource: the main resource then ignores status writes. */
  hasStatus: boolean;
  /** Field names a fieldSelector may use besides metadata.name and metadata.namespace. */
  extraSelectableFields: readonly string[];
}

const EVENT_FIELDS = [
  "involvedObject.kind",
  "involvedObject.namespace",
  "involvedObject.name",
  "involvedObject.uid",
  "involvedObject.apiVersion",
  "involvedObject.resourceVersion",
  "involvedObject.fieldPath",
  "reason",
  "reportingComponent",
  "source",
  "type",
] as const;

export const RESOURCE_TYPES: readonly ResourceType[] = [
  { group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false, hasStatus: false, extraSelectableFields: ["status.phase"] },
  { group: "", version: "v1", resource: "services", kind: "Service", namespaced: true, hasStatus: true, extraSelectableFields: ["spec.clusterIP", "spec.type"] },
  { group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true, hasStatus: false, extraSelectableFields: ["type"] },
  { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true, hasStatus: false, extraSelectableFields: [] },
  { group: "", version: "v1", resource: "events", kind: "Event", namespaced: true, hasStatus: false, extraSelectableFields: EVENT_FIELDS },
  { group: "networking.k8s.io", version: "v1", resource: "ingresses", kind: "Ingress", namespaced: true, hasStatus: true, extraSelectableFields: [] },
  { group: "networking.k8s.io", version: "v1", resource: "ingressclasses", kind: "IngressClass", namespaced: false, hasStatus: false, extraSelectableFields: [] },
  { group: "discovery.k8s.io", version: "v1", resource: "endpointslices", kind: "EndpointSlice", namespaced: true, hasStatus: false, extraSelectableFields: [] },
  { group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true, hasStatus: false, extraSelectableFields: [] },
  { group: "events.k8s.io", version: "v1", resource: "events", kind: "Event", namespaced: true, hasStatus: false, extraSelectableFields: ["regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason", "type"] },
];

export function apiVersionOf(type: ResourceType): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

/** Key used for storage and watch routing: "ingresses.networking.k8s.io", or "services" for core. */
export function resourceKey(type: ResourceType): string {
  return type.group === "" ? type.resource : `${type.resource}.${type.group}`;
}

export function findByResource(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.resource === resource);
}

export function findByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}

/** Distinct group/version pairs, core group first, in table order. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Set<string>();
  const result: { group: string; version: string }[] = [];
  for (const t of RESOURCE_TYPES) {
    const key = `${t.group}/${t.version}`;
    if (!seen.has(key)) {
      seen.add(key);
      result.push({ group: t.group, version: t.version });
    }
  }
  return result;
}

/**
 * URL path of a collection or an object, as Kubernetes spells it. `namespace` undefined
 * on a namespaced type means "all namespaces" (list/watch only).
 */
export function resourcePath(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const base = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  let path = type.namespaced && namespace !== undefined ? `${base}/namespaces/${encodeURIComponent(namespace)}/${type.resource}` : `${base}/${type.resource}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

// Normalised cluster objects: the typed, validated form every source (informers,
// YAML folder) produces. Plain data only; nothing here holds a live reference.

export interface ObjectMeta {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  /** ISO-8601; "" when unknown (file mode objects without one sort last). */
  creationTimestamp: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

export interface ServiceBackendPort {
  number?: number;
  name?: string;
}

export interface IngressBackend {
  service?: { name: string; port: ServiceBackendPort };
  resource?: { apiGroup?: string; kind: string; name: string };
}

export interface HTTPIngressPath {
  /** As written; validated by translation, not at the edge. */
  path?: string;
  pathType: string;
  backend: IngressBackend;
}

export interface IngressRule {
  host?: string;
  paths: HTTPIngressPath[];
}

export interface IngressTLS {
  hosts: string[];
  secretName?: string;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

export interface Ingress {
  kind: "Ingress";
  meta: ObjectMeta;
  ingressClassName?: string;
  defaultBackend?: IngressBackend;
  tls: IngressTLS[];
  rules: IngressRule[];
  status: LoadBalancerIngress[];
}

export interface IngressClass {
  kind: "IngressClass";
  meta: ObjectMeta;
  controller: string;
}

export interface ServicePort {
  name: string;
  port: number;
  targetPort?: number | string;
  protocol: string;
  appProtocol?: string;
}

export interface Service {
  kind: "Service";
  meta: ObjectMeta;
  type: string;
  ports: ServicePort[];
  externalName?: string;
  /** Absent for headless Services ("None"). */
  clusterIP?: string;
  externalIPs?: string[];
  loadBalancerIngress: LoadBalancerIngress[];
}

export interface EndpointConditions {
  /** Unset means ready, as the EndpointSlice API specifies. */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions: EndpointConditions;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string };
}

export interface EndpointSlicePort {
  name: string;
  port?: number;
  protocol: string;
}

export interface EndpointSlice {
  kind: "EndpointSlice";
  meta: ObjectMeta;
  /** From the kubernetes.io/service-name label; "" when absent (slice is ignored). */
  serviceName: string;
  addressType: string;
  endpoints: SliceEndpoint[];
  ports: EndpointSlicePort[];
}

export interface Secret {
  kind: "Secret";
  meta: ObjectMeta;
  type: string;
  /** Base64-decoded values of the data keys. */
  data: Readonly<Record<string, string>>;
}

export type ClusterObject = Ingress | IngressClass | Service | EndpointSlice | Secret;
export type ObjectKind = ClusterObject["kind"];

const OBJECT_KINDS: ReadonlySet<string> = new Set<ObjectKind>(["Ingress", "IngressClass", "Service", "EndpointSlice", "Secret"]);

/** Whether `kind` (from a diagnostic, say) names a kind the store holds. */
export function isObjectKind(kind: string): kind is ObjectKind {
  return OBJECT_KINDS.has(kind);
}

/** A namespaced object's identity; namespace is "" for cluster-scoped kinds. */
export interface ObjectRef {
  kind: ObjectKind;
  namespace: string;
  name: string;
}

export function objectKey(meta: { namespace: string; name: string }): string {
  // join builds one flat string; a template literal keeps its pieces, and stores keep thousands of keys.
  return meta.namespace === "" ? meta.name : [meta.namespace, meta.name].join("/");
}

export function refOf(obj: ClusterObject): ObjectRef {
  return { kind: obj.kind, namespace: obj.meta.namespace, name: obj.meta.name };
}

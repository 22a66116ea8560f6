// ClusterSource: one ResilientInformer per kind turnout reads, feeding the
// ClusterStore with objects parsed by the store's edge schemas, plus one per object
// a flag names outside the watched namespace. start() resolves when every informer
// has synced.
import { CoreV1Api, DiscoveryV1Api, NetworkingV1Api } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import type { ClusterObject, ObjectKind } from "../store/objects.ts";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { ParseResult } from "../store/schemas.ts";
import { parseEndpointSlice, parseIngress, parseIngressClass, parseSecret, parseService } from "../store/schemas.ts";
import type { Logger } from "../observability/logger.ts";
import { ResilientInformer } from "./resilient-informer.ts";
import type { Backoff } from "./resilient-informer.ts";

export interface ClusterSourceOptions {
  kubeConfig: KubeConfig;
  store: ClusterStore;
  logger: Logger;
  /** Limit namespaced watches to this namespace. */
  namespace?: string;
  /**
   * Objects flags name (publish Service, default backend, default certificate): those
   * outside `namespace` get a watch of their own, limited to that one object.
   */
  namedObjects?: readonly NamedObject[];
  backoff?: Backoff;
  onRestart?: (resource: string, error: unknown) => void;
}

/** An object a flag names; a Service may bring its EndpointSlices (a default backend's). */
export interface NamedObject {
  kind: "Service" | "Secret";
  namespace: string;
  name: string;
  withEndpointSlices?: boolean;
}

interface InformerSpec {
  resource: string;
  kind: ObjectKind;
  path: string;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
  fieldSelector?: string;
  labelSelector?: string;
  parse: (raw: unknown) => ParseResult<ClusterObject>;
}

const TLS_SECRETS = "type=kubernetes.io/tls";

function informerSpecs(kc: KubeConfig, namespace: string | undefined): InformerSpec[] {
  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const scoped = (group: string, resource: string): string =>
    namespace ? `${group}/namespaces/${namespace}/${resource}` : `${group}/${resource}`;
  return [
    {
      resource: "ingresses",
      kind: "Ingress",
      path: scoped("/apis/networking.k8s.io/v1", "ingresses"),
      list: () => (namespace ? networking.listNamespacedIngress({ namespace }) : networking.listIngressForAllNamespaces({})),
      parse: (raw) => parseIngress(raw),
    },
    {
      resource: "ingressclasses",
      kind: "IngressClass",
      path: "/apis/networking.k8s.io/v1/ingressclasses",
      list: () => networking.listIngressClass({}),
      parse: (raw) => parseIngressClass(raw),
    },
    {
      resource: "services",
      kind: "Service",
      path: scoped("/api/v1", "services"),
      list: () => (namespace ? core.listNamespacedService({ namespace }) : core.listServiceForAllNamespaces({})),
      parse: (raw) => parseService(raw),
    },
    {
      resource: "endpointslices",
      kind: "EndpointSlice",
      path: scoped("/apis/discovery.k8s.io/v1", "endpointslices"),
      list: () => (namespace ? discovery.listNamespacedEndpointSlice({ namespace }) : discovery.listEndpointSliceForAllNamespaces({})),
      parse: (raw) => parseEndpointSlice(raw),
    },
    {
      resource: "secrets",
      kind: "Secret",
      path: scoped("/api/v1", "secrets"),
      fieldSelector: TLS_SECRETS,
      list: () =>
        namespace
          ? core.listNamespacedSecret({ namespace, fieldSelector: TLS_SECRETS })
          : core.listSecretForAllNamespaces({ fieldSelector: TLS_SECRETS }),
      parse: (raw) => parseSecret(raw),
    },
  ];
}

/** Single-object watches for what flags name outside the watched namespace (all namespaces are watched without one). */
function namedObjectSpecs(kc: KubeConfig, watched: string | undefined, objects: readonly NamedObject[]): InformerSpec[] {
  if (watched === undefined) return [];
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const specs: InformerSpec[] = [];
  const seen = new Set<string>();
  for (const { kind, namespace, name, withEndpointSlices } of objects) {
    const key = `${kind}/${namespace}/${name}`;
    if (namespace === watched || seen.has(key)) continue;
    seen.add(key);
    if (kind === "Service") {
      const fieldSelector = `metadata.name=${name}`;
      specs.push({
        resource: `services/${namespace}/${name}`,
        kind: "Service",
        path: `/api/v1/namespaces/${namespace}/services`,
        fieldSelector,
        list: () => core.listNamespacedService({ namespace, fieldSelector }),
        parse: (raw) => parseService(raw),
      });
      if (withEndpointSlices === true) {
        const labelSelector = `kubernetes.io/service-name=${name}`;
        specs.push({
          resource: `endpointslices/${namespace}/${name}`,
          kind: "EndpointSlice",
          path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
          labelSelector,
          list: () => discovery.listNamespacedEndpointSlice({ namespace, labelSelector }),
          parse: (raw) => parseEndpointSlice(raw),
        });
      }
    } else {
      const fieldSelector = `metadata.name=${name},${TLS_SECRETS}`;
      specs.push({
        resource: `secrets/${namespace}/${name}`,
        kind: "Secret",
        path: `/api/v1/namespaces/${namespace}/secrets`,
        fieldSelector,
        list: () => core.listNamespacedSecret({ namespace, fieldSelector }),
        parse: (raw) => parseSecret(raw),
      });
    }
  }
  return specs;
}

export class ClusterSource {
  readonly #informers: ResilientInformer[];

  constructor(options: ClusterSourceOptions) {
    const { store, logger } = options;
    const specs = [...informerSpecs(options.kubeConfig, options.namespace), ...namedObjectSpecs(options.kubeConfig, options.namespace, options.namedObjects ?? [])];
    this.#informers = specs.map((spec) => {
      const log = logger.child({ resource: spec.resource });
      return new ResilientInformer({
        resource: spec.resource,
        kubeConfig: options.kubeConfig,
        path: spec.path,
        list: spec.list,
        ...(spec.fieldSelector !== undefined ? { fieldSelector: spec.fieldSelector } : {}),
        ...(spec.labelSelector !== undefined ? { labelSelector: spec.labelSelector } : {}),
        logger: log,
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.onRestart ? { onRestart: options.onRestart } : {}),
        handlers: {
          upsert: (raw) => {
            const parsed = spec.parse(raw);
            // An object the schema rejects keeps its previous version in the store.
            if (parsed.ok) store.upsert(parsed.object);
            else log.error("ignoring malformed object", { ref: refName(raw), reason: parsed.message });
          },
          delete: (raw) => {
            const namespace = spec.kind === "IngressClass" ? "" : (raw.metadata?.namespace ?? "");
            store.delete(spec.kind, namespace, raw.metadata?.name ?? "");
          },
        },
      });
    });
  }

  /** Resolves when every informer has listed and is watching. */
  async start(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.stop()));
  }
}

function refName(raw: KubernetesObject): string {
  const ns = raw.metadata?.namespace;
  return ns ? `${ns}/${raw.metadata?.name ?? "?"}` : (raw.metadata?.name ?? "?");
}

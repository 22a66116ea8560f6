// EventRecorder: writes translation diagnostics as Kubernetes Events on the
// object concerned (core/v1 Events, as kubectl describe shows them).
import { CoreV1Api } from "@kubernetes/client-node";
import type { CoreV1Event, KubeConfig } from "@kubernetes/client-node";
import type { Diagnostic } from "../routing/route-table.ts";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { Logger } from "../observability/logger.ts";
import type { EventSink } from "../reconcile/diagnostic-reporter.ts";
import { CONTROLLER_NAME } from "../config/flags.ts";

const API_VERSIONS: Record<string, string> = {
  Ingress: "networking.k8s.io/v1",
  IngressClass: "networking.k8s.io/v1",
  Service: "v1",
  Secret: "v1",
};

export class EventRecorder implements EventSink {
  readonly #core: CoreV1Api;
  readonly #store: ClusterStore;
  readonly #logger: Logger;
  readonly #instance: string;
  readonly #isWriter: () => boolean;

  /** `isWriter`: only one replica (the leader) writes Events, so replicas do not repeat each other. */
  constructor(kubeConfig: KubeConfig, store: ClusterStore, logger: Logger, instance: string, isWriter: () => boolean) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#store = store;
    this.#logger = logger;
    this.#instance = instance;
    this.#isWriter = isWriter;
  }

  emit(d: Diagnostic): void {
    if (!this.#isWriter()) return;
    const namespace = d.ref.namespace === "" ? "default" : d.ref.namespace;
    const uid = d.ref.kind === "Ingress" ? this.#store.get("Ingress", d.ref.namespace, d.ref.name)?.meta.uid : undefined;
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { generateName: `${d.ref.name}.`, namespace },
      involvedObject: {
        apiVersion: API_VERSIONS[d.ref.kind] ?? "v1",
        kind: d.ref.kind,
        namespace: d.ref.namespace,
        name: d.ref.name,
        ...(uid ? { uid } : {}),
      },
      type: d.severity,
      reason: d.reason,
      message: d.message,
      source: { component: "turnout" },
      reportingComponent: CONTROLLER_NAME,
      reportingInstance: this.#instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.#core.createNamespacedEvent({ namespace, body }).catch((error: unknown) => {
      this.#logger.warn("could not write event", { ref: `${d.ref.namespace}/${d.ref.name}`, reason: d.reason, error: String(error) });
    });
  }
}

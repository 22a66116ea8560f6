// IngressStatusWriter: keeps status.loadBalancer.ingress of our Ingresses equal
// to the published address (--publish-status-address, else the --publish-service
// load balancer), and clears it on Ingresses that stopped being ours.
import { NetworkingV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { KubeConfig } from "@kubernetes/client-node";
import { isIP } from "node:net";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { Ingress, LoadBalancerIngress } from "../store/objects.ts";
import type { Logger } from "../observability/logger.ts";

export interface StatusWriterOptions {
  kubeConfig: KubeConfig;
  store: ClusterStore;
  logger: Logger;
  publishService?: { namespace: string; name: string };
  publishStatusAddresses: readonly string[];
  /** Builds the "is this Ingress ours?" test for the store's current IngressClasses. */
  ownership: () => (ingress: Ingress) => boolean;
}

function addressesEqual(a: readonly LoadBalancerIngress[], b: readonly LoadBalancerIngress[]): boolean {
  const key = (list: readonly LoadBalancerIngress[]): string =>
    list.map((e) => `${e.ip ?? ""}/${e.hostname ?? ""}`).sort().join(",");
  return key(a) === key(b);
}

/** Pure: the status writes needed, as [ingress, desired addresses]. */
export function planStatusUpdates(
  ingresses: readonly Ingress[],
  desired: readonly LoadBalancerIngress[],
  isOurs: (ingress: Ingress) => boolean,
): [Ingress, LoadBalancerIngress[]][] {
  const plan: [Ingress, LoadBalancerIngress[]][] = [];
  for (const ingress of ingresses) {
    if (isOurs(ingress)) {
      if (!addressesEqual(ingress.status, desired)) plan.push([ingress, [...desired]]);
    } else if (desired.length > 0 && ingress.status.length > 0 && addressesEqual(ingress.status, desired)) {
      // It carries our address but is no longer ours: clear what we wrote.
      plan.push([ingress, []]);
    }
  }
  return plan;
}

export class IngressStatusWriter {
  readonly #o: StatusWriterOptions;
  readonly #api: NetworkingV1Api;
  #running = false;
  #again = false;

  constructor(options: StatusWriterOptions) {
    this.#o = options;
    this.#api = options.kubeConfig.makeApiClient(NetworkingV1Api);
  }

  /** The addresses to publish now; undefined when none is configured (status is left alone). */
  desiredAddresses(): LoadBalancerIngress[] | undefined {
    const { publishStatusAddresses, publishService, store } = this.#o;
    if (publishStatusAddresses.length > 0) {
      return publishStatusAddresses.map((a) => (isIP(a) !== 0 ? { ip: a } : { hostname: a }));
    }
    if (!publishService) return undefined;
    return store.get("Service", publishService.namespace, publishService.name)?.loadBalancerIngress ?? [];
  }

  /** Brings every Ingress status in line; calls during a run coalesce into one more run. */
  sync(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#run().finally(() => {
      this.#running = false;
      if (this.#again) {
        this.#again = false;
        this.sync();
      }
    });
  }

  async #run(): Promise<void> {
    const desired = this.desiredAddresses();
    if (!desired) return;
    const { store, ownership, logger } = this.#o;
    for (const [ingress, addresses] of planStatusUpdates(store.list("Ingress"), desired, ownership())) {
      const ref = `${ingress.meta.namespace}/${ingress.meta.name}`;
      try {
        await this.#api.patchNamespacedIngressStatus(
          { namespace: ingress.meta.namespace, name: ingress.meta.name, body: { status: { loadBalancer: { ingress: addresses } } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
        logger.info("ingress status updated", { ref, addresses });
      } catch (error) {
        logger.warn("could not update ingress status", { ref, error: String(error) });
      }
    }
  }
}

// IngressStatusWriter: keeps status.loadBalancer.ingress of our Ingresses equal
// to the published address (--publish-status-address, else the --publish-service
// Service's address), and clears it on Ingresses that stopped being ours. Writes only
// while leading; failed writes are retried with capped backoff.
import { ApiException, NetworkingV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { KubeConfig } from "@kubernetes/client-node";
import { isIP } from "node:net";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { Ingress, LoadBalancerIngress, Service } from "../store/objects.ts";
import type { Logger } from "../observability/logger.ts";

export interface StatusWriterOptions {
  kubeConfig: KubeConfig;
  store: ClusterStore;
  logger: Logger;
  publishService?: { namespace: string; name: string };
  publishStatusAddresses: readonly string[];
  /** Builds the "is this Ingress ours?" test for the store's current IngressClasses. */
  ownership: () => (ingress: Ingress) => boolean;
  /** Checked before every write: a replica that lost the Lease stops at once. */
  isLeader: () => boolean;
  /** Delay before retrying after failed writes; default 1 s doubling to 30 s. */
  retryDelayMs?: (attempt: number) => number;
}

function defaultRetryDelay(attempt: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5));
}

function addressesEqual(a: readonly LoadBalancerIngress[], b: readonly LoadBalancerIngress[]): boolean {
  const key = (list: readonly LoadBalancerIngress[]): string =>
    list.map((e) => `${e.ip ?? ""}/${e.hostname ?? ""}`).sort().join(",");
  return key(a) === key(b);
}

/**
 * The addresses a publish Service offers clients, by type (as other controllers do):
 * a LoadBalancer's ingress points plus external IPs; an ExternalName's name; for
 * ClusterIP and NodePort, the external IPs, else the cluster IP. Empty while a load
 * balancer is still being provisioned.
 */
export function serviceAddresses(service: Service): LoadBalancerIngress[] {
  const external = (service.externalIPs ?? []).map((ip): LoadBalancerIngress => ({ ip }));
  switch (service.type) {
    case "LoadBalancer": {
      const known = new Set(service.loadBalancerIngress.map((entry) => entry.ip));
      return [...service.loadBalancerIngress, ...external.filter((entry) => !known.has(entry.ip))];
    }
    case "ExternalName":
      return service.externalName !== undefined ? [{ hostname: service.externalName }] : [];
    default:
      if (external.length > 0) return external;
      return service.clusterIP !== undefined ? [{ ip: service.clusterIP }] : [];
  }
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

/**
 * The merge patch setting an Ingress's status, conditional on the resourceVersion the
 * write was planned from: if the Ingress changed meanwhile (another install wrote its
 * address after the Ingress moved to its class, a user edited it), the API server
 * answers 409 and nothing is overwritten; the next pass plans from the newer version.
 */
export function statusPatch(ingress: Ingress, addresses: readonly LoadBalancerIngress[]): object {
  const status = { loadBalancer: { ingress: addresses } };
  const resourceVersion = ingress.meta.resourceVersion;
  return resourceVersion !== "" ? { metadata: { resourceVersion }, status } : { status };
}

export class IngressStatusWriter {
  readonly #o: StatusWriterOptions;
  readonly #api: NetworkingV1Api;
  #running = false;
  #again = false;
  /** Consecutive runs with a failed write. */
  #failedRuns = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #warnedMissingService = false;

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
    const service = store.get("Service", publishService.namespace, publishService.name);
    if (service === undefined) {
      // Unknown is not "no address": writing [] would wipe what is there (e.g. before the Service is seen).
      if (!this.#warnedMissingService) {
        this.#o.logger.warn("publish Service not found; Ingress status is left as it is", { ref: `${publishService.namespace}/${publishService.name}` });
        this.#warnedMissingService = true;
      }
      return undefined;
    }
    this.#warnedMissingService = false;
    return serviceAddresses(service);
  }

  /** Brings every Ingress status in line; calls during a run coalesce into one more run. */
  sync(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#run()
      .catch((error: unknown) => {
        this.#o.logger.error("ingress status pass failed", { error: String(error) });
        return true;
      })
      .then((failed) => {
        this.#running = false;
        this.#failedRuns = failed ? this.#failedRuns + 1 : 0;
        if (this.#again) {
          this.#again = false;
          this.sync();
        } else if (failed && this.#o.isLeader()) {
          const delay = (this.#o.retryDelayMs ?? defaultRetryDelay)(this.#failedRuns - 1);
          this.#retryTimer = setTimeout(() => this.sync(), delay);
          this.#retryTimer.unref();
        }
      });
  }

  /** Stops pending retries (shutdown). */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** One pass over the plan; true when a write failed. */
  async #run(): Promise<boolean> {
    const { store, ownership, logger, isLeader } = this.#o;
    if (!isLeader()) return false;
    const desired = this.desiredAddresses();
    if (!desired) return false;
    let failed = false;
    for (const [ingress, addresses] of planStatusUpdates(store.list("Ingress"), desired, ownership())) {
      if (!isLeader()) return false;
      const ref = `${ingress.meta.namespace}/${ingress.meta.name}`;
      try {
        await this.#api.patchNamespacedIngressStatus(
          { namespace: ingress.meta.namespace, name: ingress.meta.name, body: statusPatch(ingress, addresses) },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
        logger.info("ingress status updated", { ref, addresses });
      } catch (error) {
        failed = true;
        if (error instanceof ApiException && error.code === 409) {
          logger.info("ingress changed since its status write was planned; planning again from the newer version", { ref });
        } else {
          logger.warn("could not update ingress status; will retry", { ref, error: String(error) });
        }
      }
    }
    return failed;
  }
}

// The control plane: one set of sources (informers or a YAML folder), the store, the
// reconciler, status writer, leader election, Events, active health checks,
// certificate problems, the admin server and metrics. Runs in the primary, or
// beside the data plane in a single process.
import type { Server } from "node:http";
import { hostname } from "node:os";
import type { Config } from "../config/flags.ts";
import { ClusterStore, isObjectKind } from "../store/index.ts";
import type { TranslateSettings } from "../store/index.ts";
import type { EndpointRegistry } from "../endpoints/index.ts";
import { ActiveHealthChecker, healthCheckTargets } from "../health/index.ts";
import type { TlsServer } from "../tls/index.ts";
import type { PublishedTable, RouteTableHolder } from "../routing/published-table.ts";
import { Reconciler, DiagnosticReporter } from "../reconcile/index.ts";
import type { EventSink, ObjectUid } from "../reconcile/index.ts";
import { ownershipTest } from "../translate/index.ts";
import { FolderSource } from "../files/index.ts";
import type * as ClusterEdge from "../k8s/index.ts";
import type { Logger } from "../observability/logger.ts";
import { createAdminServer } from "../observability/admin-server.ts";
import { aggregateMetrics, createMetrics } from "../observability/metrics.ts";
import type { Metrics, MetricsSnapshot } from "../observability/metrics.ts";
import { endpointStateCounts } from "../observability/endpoint-states.ts";
import { publishHealthEvents } from "../observability/health-events.ts";
import { listen } from "./listen.ts";
import { releaseMemory } from "./release-memory.ts";

/** A problem is logged and becomes an Event once it has lasted this long (docs/operations.md). */
const DIAGNOSTIC_SETTLE_MS = 1000;

export interface ControlPlaneOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Where published tables go: the proxy's own holder in a single process, the primary's in multi-process mode. */
  holder: RouteTableHolder;
  /** Fed with EndpointSlices by the reconciler; active checks set its flags. */
  registry: EndpointRegistry;
  /**
   * Certificates follow every table and Secret change here, and its problems are
   * reported (log, Event, /debug/routes): the serving TlsServer in a single process,
   * one that never listens in the primary, so problems are reported once, not per worker.
   */
  certificates: Pick<TlsServer, "update">;
  /** After a changed table is published, once health checks and certificates follow it. */
  onPublish?: (published: PublishedTable) => void;
  /** A further reason not to be ready (the primary: workers still starting). */
  notReadyReason?: () => string | undefined;
  /** Report turnout_endpoints from `registry`; the primary leaves it to the workers, which see passive ejections. */
  endpointMetrics: boolean;
  /** Other processes' metrics, merged into every scrape before this process's own. */
  otherMetrics?: () => Promise<MetricsSnapshot[]>;
  /** More /debug/routes fields (the primary: its workers). */
  debugExtras?: () => Record<string, unknown>;
}

export interface ShutdownStart {
  /** How long to keep serving with readiness failing. */
  delayMs: number;
  /** Settles once the Lease is handed over (at once when not leading). */
  released: Promise<void>;
}

export class ControlPlane {
  readonly store = new ClusterStore();
  readonly healthChecker: ActiveHealthChecker;
  readonly #o: ControlPlaneOptions;
  readonly #reconciler: Reconciler;
  readonly #diagnostics: DiagnosticReporter;
  readonly #tlsDiagnostics: DiagnosticReporter;
  readonly #elector: ClusterEdge.LeaderElector | undefined;
  readonly #statusWriter: ClusterEdge.IngressStatusWriter | undefined;
  readonly #k8s: typeof ClusterEdge | undefined;
  readonly #kubeConfig: ReturnType<typeof ClusterEdge.loadKubeConfig> | undefined;
  readonly #metrics: Metrics;
  readonly #admin: Server;
  #stopSource: () => Promise<void> = () => Promise.resolve();
  #shuttingDown = false;

  /**
   * The Kubernetes client is imported in cluster mode only: loading it costs about
   * 90 MB of resident memory and half a second that file mode has no use for.
   */
  static async create(options: ControlPlaneOptions): Promise<ControlPlane> {
    const k8s = options.config.mode === "cluster" ? await import("../k8s/index.ts") : undefined;
    return new ControlPlane(options, k8s);
  }

  private constructor(options: ControlPlaneOptions, k8s: typeof ClusterEdge | undefined) {
    this.#o = options;
    this.#k8s = k8s;
    const { config, logger, holder, registry } = options;
    const store = this.store;
    const settings: TranslateSettings = {
      ingressClass: config.ingressClass,
      controllerName: config.controllerClass,
      watchIngressWithoutClass: config.watchIngressWithoutClass,
      ...(config.defaultBackendService ? { defaultBackendService: config.defaultBackendService } : {}),
    };
    this.healthChecker = new ActiveHealthChecker({ registry, logger: logger.child({ component: "health" }) });
    publishHealthEvents({ checker: this.healthChecker });
    registry.onChange(() => this.#refreshHealthChecks());
    const instance = process.env.POD_NAME ?? hostname();

    const kubeConfig = k8s?.loadKubeConfig(config.kubeconfig);
    this.#kubeConfig = kubeConfig;
    let events: EventSink | undefined;
    if (k8s && kubeConfig) events = new k8s.EventRecorder(kubeConfig, store, logger.child({ component: "events" }), instance, () => this.#elector?.isLeader ?? true);
    const uidOf: ObjectUid = (ref) => (isObjectKind(ref.kind) ? store.get(ref.kind, ref.namespace, ref.name)?.meta.uid : undefined);
    const reporting = { ...(events ? { events } : {}), uidOf, settleMs: DIAGNOSTIC_SETTLE_MS };
    const diagnostics = new DiagnosticReporter({ logger: logger.child({ component: "translate" }), ...reporting });
    const tlsDiagnostics = new DiagnosticReporter({ logger: logger.child({ component: "tls" }), ...reporting });
    this.#diagnostics = diagnostics;
    this.#tlsDiagnostics = tlsDiagnostics;
    // Certificates follow both table publishes and Secret changes (a rotation changes no route).
    store.onChange((change) => {
      if (change.object.kind === "Secret" && holder.current) this.#refreshCertificates();
    });
    const statusWriter = k8s && kubeConfig
      ? new k8s.IngressStatusWriter({
          kubeConfig,
          store,
          logger: logger.child({ component: "status" }),
          ...(config.publishService ? { publishService: config.publishService } : {}),
          publishStatusAddresses: config.publishStatusAddresses,
          ownership: () => ownershipTest(store.list("IngressClass"), settings),
          isLeader: () => this.#elector?.isLeader ?? true,
        })
      : undefined;
    this.#statusWriter = statusWriter;
    // Every replica serves traffic; only the Lease holder writes Ingress status.
    const election = k8s && kubeConfig ? k8s.electionSettingsFromEnv(process.env) : undefined;
    if (election?.ok === false) throw new Error(election.error);
    const onStartedLeading = (): void => {
      statusWriter?.sync();
      diagnostics.replayEvents();
      tlsDiagnostics.replayEvents();
    };
    this.#elector =
      k8s && kubeConfig && election?.ok
        ? new k8s.LeaderElector({ kubeConfig, name: config.electionId, ...election.settings, logger: logger.child({ component: "leader-election" }), onStartedLeading })
        : undefined;

    this.#reconciler = new Reconciler({
      store,
      registry,
      holder,
      settings,
      logger: logger.child({ component: "reconciler" }),
      diagnostics,
      onRebuild: (outcome) => {
        if (outcome.changed) {
          this.#refreshHealthChecks();
          this.#refreshCertificates();
          options.onPublish?.(outcome.published);
        }
        if (this.#elector?.isLeader) statusWriter?.sync();
      },
    });

    this.#metrics = createMetrics({
      collectDiagnostics: () => diagnostics.active(),
      ...(options.endpointMetrics ? { collectEndpoints: () => endpointStateCounts(holder, registry) } : {}),
    });
    this.#admin = createAdminServer({
      holder,
      registry,
      diagnostics: () => [...diagnostics.active(), ...tlsDiagnostics.active()],
      metrics: () => this.#renderMetrics(),
      notReadyReason: () => this.notReadyReason(),
      ...(options.debugExtras ? { debugExtras: options.debugExtras } : {}),
    });
  }

  notReadyReason(): string | undefined {
    if (this.#shuttingDown) return "shutting down";
    if (!this.#reconciler.synced) return "waiting for the first sync of every source";
    return this.#o.notReadyReason?.();
  }

  /** Opens the admin server; resolves with its port. */
  listenAdmin(): Promise<number> {
    return listen(this.#admin, this.#o.config.adminPort, this.#o.config.bindAddress);
  }

  /** Starts the sources, publishes the first table once they have synced, then campaigns for the Lease. */
  async start(): Promise<void> {
    const { config, logger, holder } = this.#o;
    if (this.#k8s && this.#kubeConfig) {
      const source = new this.#k8s.ClusterSource({
        kubeConfig: this.#kubeConfig,
        store: this.store,
        logger: logger.child({ component: "informer" }),
        ...(config.watchNamespace ? { namespace: config.watchNamespace } : {}),
        namedObjects: flagNamedObjects(config),
      });
      this.#stopSource = () => source.stop();
      await source.start();
    } else {
      const folder = config.manifests ?? "examples";
      const source = new FolderSource({ folder, store: this.store, logger: logger.child({ component: "files", folder }) });
      this.#stopSource = () => Promise.resolve(source.stop());
      await source.start();
    }
    this.#reconciler.markSynced();
    // The first table is published: what the initial load allocated is garbage now.
    releaseMemory();
    this.#elector?.start();
    logger.info("initial sync complete", { generation: holder.current?.generation ?? 0 });
  }

  /** Readiness fails from now on and the Lease is handed over so another replica writes status without waiting for expiry. */
  beginShutdown(signal: string): ShutdownStart {
    this.#shuttingDown = true;
    const released = this.#elector?.release() ?? Promise.resolve();
    // Ctrl-C at a terminal wants out now; SIGTERM from the kubelet gets the delay load balancers need.
    return { delayMs: signal === "SIGINT" ? 0 : this.#o.config.shutdownDelayMs, released };
  }

  /** Stops following changes: rebuilds, probes and sources. */
  stop(): void {
    this.#reconciler.stop();
    this.#diagnostics.stop();
    this.#tlsDiagnostics.stop();
    this.#statusWriter?.stop();
    this.healthChecker.stop();
    void this.#stopSource();
  }

  /** Closes the admin server and stops metric collection (last, after the proxy drained). */
  close(): void {
    this.#admin.close();
    this.#metrics.close();
  }

  #refreshHealthChecks(): void {
    const table = this.#o.holder.current?.table;
    this.healthChecker.update(table ? healthCheckTargets(table, this.#o.registry) : []);
  }

  #refreshCertificates(): void {
    this.#tlsDiagnostics.report(this.#o.certificates.update(this.#o.holder.current?.table, this.store.list("Secret")).problems);
  }

  async #renderMetrics(): Promise<{ contentType: string; body: string }> {
    const { contentType } = this.#metrics;
    if (!this.#o.otherMetrics) return { contentType, body: await this.#metrics.render() };
    const others = await this.#o.otherMetrics();
    return { contentType, body: await aggregateMetrics([...others, await this.#metrics.registry.getMetricsAsJSON()]) };
  }
}

/** Objects the flags name: watched on their own when they sit outside --watch-namespace. */
function flagNamedObjects(config: Readonly<Config>): ClusterEdge.NamedObject[] {
  const named: ClusterEdge.NamedObject[] = [];
  const { publishService, defaultBackendService, defaultSslCertificate } = config;
  // The default backend first: should the publish Service be the same one, its watch brings the EndpointSlices.
  if (defaultBackendService) named.push({ kind: "Service", namespace: defaultBackendService.namespace, name: defaultBackendService.name, withEndpointSlices: true });
  if (publishService && config.publishStatusAddresses.length === 0) named.push({ kind: "Service", ...publishService });
  if (defaultSslCertificate) named.push({ kind: "Secret", ...defaultSslCertificate });
  return named;
}

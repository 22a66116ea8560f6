#!/usr/bin/env -S node --disable-warning=DEP0060
// turnout entry point: flags -> config -> wiring -> signals. No routing logic here.
import type { Server } from "node:http";
import { hostname } from "node:os";
import { parseConfig, CONTROLLER_NAME } from "../src/config/flags.ts";
import type { Config } from "../src/config/flags.ts";
import { ClusterStore } from "../src/store/index.ts";
import type { TranslateSettings } from "../src/store/index.ts";
import { EndpointRegistry, EndpointLoadTracker } from "../src/endpoints/index.ts";
import { ActiveHealthChecker, OutlierDetector, healthCheckTargets } from "../src/health/index.ts";
import { TlsServer } from "../src/tls/index.ts";
import { RouteTableHolder } from "../src/routing/published-table.ts";
import { Reconciler, DiagnosticReporter } from "../src/reconcile/index.ts";
import type { EventSink } from "../src/reconcile/index.ts";
import { ownershipTest } from "../src/translate/index.ts";
import { FolderSource } from "../src/files/index.ts";
import { ClusterSource, EventRecorder, IngressStatusWriter, LeaderElector, electionSettingsFromEnv, loadKubeConfig } from "../src/k8s/index.ts";
import { BackendPicker } from "../src/proxy/backend-picker.ts";
import { ProxyServer } from "../src/proxy/proxy-server.ts";
import { createLogger } from "../src/observability/logger.ts";
import type { Logger } from "../src/observability/logger.ts";
import { createAdminServer } from "../src/observability/admin-server.ts";
import { createMetrics } from "../src/observability/metrics.ts";
import { endpointStateCounts } from "../src/observability/endpoint-states.ts";
import { publishHealthEvents } from "../src/observability/health-events.ts";

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

async function run(config: Readonly<Config>, logger: Logger): Promise<void> {
  const settings: TranslateSettings = {
    ingressClass: config.ingressClass,
    controllerName: CONTROLLER_NAME,
    watchIngressWithoutClass: config.watchIngressWithoutClass,
    ...(config.defaultBackendService ? { defaultBackendService: config.defaultBackendService } : {}),
  };
  const store = new ClusterStore();
  const registry = new EndpointRegistry({ logger: logger.child({ component: "endpoints" }) });
  const load = new EndpointLoadTracker();
  const holder = new RouteTableHolder();
  const healthChecker = new ActiveHealthChecker({ registry, logger: logger.child({ component: "health" }) });
  const outliers = new OutlierDetector({ registry, logger: logger.child({ component: "health" }) });
  publishHealthEvents(registry, healthChecker, outliers);
  const refreshHealthChecks = (): void => {
    const table = holder.current?.table;
    healthChecker.update(table ? healthCheckTargets(table, registry) : []);
  };
  registry.onChange((_service, removed) => {
    for (const address of removed) load.forget(address);
    refreshHealthChecks();
  });
  const instance = process.env.POD_NAME ?? hostname();

  const kubeConfig = config.mode === "cluster" ? loadKubeConfig(config.kubeconfig) : undefined;
  let events: EventSink | undefined;
  if (kubeConfig) events = new EventRecorder(kubeConfig, store, logger.child({ component: "events" }), instance, () => elector?.isLeader ?? true);
  const diagnostics = new DiagnosticReporter(logger.child({ component: "translate" }), events);
  const tlsDiagnostics = new DiagnosticReporter(logger.child({ component: "tls" }), events);
  const tls = new TlsServer({ defaultSecret: config.defaultSslCertificate });
  // Certificates follow both table publishes and Secret changes (a rotation changes no route).
  const refreshCertificates = (): void => {
    tlsDiagnostics.report(tls.update(holder.current?.table, store.list("Secret")).problems);
  };
  store.onChange((change) => {
    if (change.object.kind === "Secret" && holder.current) refreshCertificates();
  });
  const statusWriter = kubeConfig
    ? new IngressStatusWriter({
        kubeConfig,
        store,
        logger: logger.child({ component: "status" }),
        ...(config.publishService ? { publishService: config.publishService } : {}),
        publishStatusAddresses: config.publishStatusAddresses,
        ownership: () => ownershipTest(store.list("IngressClass"), settings),
      })
    : undefined;
  // Every replica serves traffic; only the Lease holder writes Ingress status.
  const election = kubeConfig ? electionSettingsFromEnv(process.env) : undefined;
  if (election?.ok === false) throw new Error(election.error);
  const onStartedLeading = (): void => {
    statusWriter?.sync();
    diagnostics.replayEvents();
    tlsDiagnostics.replayEvents();
  };
  const elector =
    kubeConfig && election?.ok
      ? new LeaderElector({ kubeConfig, name: config.electionId, ...election.settings, logger: logger.child({ component: "leader-election" }), onStartedLeading })
      : undefined;

  const picker = new BackendPicker(registry, { random: Math.random, now: () => performance.now(), load });
  const reconciler = new Reconciler({
    store,
    registry,
    holder,
    settings,
    logger: logger.child({ component: "reconciler" }),
    diagnostics,
    onRebuild: (outcome) => {
      if (outcome.changed) {
        picker.retain(outcome.result.table.backends);
        refreshHealthChecks();
        refreshCertificates();
      }
      if (elector?.isLeader) statusWriter?.sync();
    },
  });

  let shuttingDown = false;
  const proxy = new ProxyServer({ holder, picker, load, reporter: outliers, httpsRedirectPort: config.httpsRedirectPort, logger: logger.child({ component: "proxy" }) });
  const httpListener = { proto: "http" as const, port: config.httpPort };
  const httpServer = proxy.createServer(httpListener);
  const metrics = createMetrics({
    collectDiagnostics: () => diagnostics.active(),
    collectEndpoints: () => endpointStateCounts(holder, registry),
  });
  const admin = createAdminServer({
    holder,
    registry,
    diagnostics: () => [...diagnostics.active(), ...tlsDiagnostics.active()],
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }),
    notReadyReason: () => (shuttingDown ? "shutting down" : !reconciler.synced ? "waiting for the first sync of every source" : undefined),
  });
  const adminPort = await listen(admin, config.adminPort, config.bindAddress);
  const httpPort = await listen(httpServer, config.httpPort, config.bindAddress);
  const httpsListener = { proto: "https" as const, port: config.httpsPort };
  proxy.attach(tls.server, httpsListener);
  const httpsPort = await listen(tls.server, config.httpsPort, config.bindAddress);
  // With port 0 the kernel picks; X-Forwarded-Port must name the real one.
  httpListener.port = httpPort;
  httpsListener.port = httpsPort;
  logger.info("listening", { http: httpPort, https: httpsPort, admin: adminPort, bindAddress: config.bindAddress, mode: config.mode });

  let stopSource: () => Promise<void>;
  if (kubeConfig) {
    const source = new ClusterSource({
      kubeConfig,
      store,
      logger: logger.child({ component: "informer" }),
      ...(config.watchNamespace ? { namespace: config.watchNamespace } : {}),
    });
    stopSource = () => source.stop();
    await source.start();
  } else {
    const folder = config.manifests ?? "examples";
    const source = new FolderSource({ folder, store, logger: logger.child({ component: "files", folder }) });
    stopSource = () => Promise.resolve(source.stop());
    await source.start();
  }
  reconciler.markSynced();
  elector?.start();
  logger.info("initial sync complete", { generation: holder.current?.generation ?? 0 });

  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    // Hand the Lease over now so another replica writes status without waiting for expiry.
    const released = elector?.release() ?? Promise.resolve();
    // Ctrl-C at a terminal wants out now; SIGTERM from the kubelet gets the delay load balancers need.
    const delayMs = signal === "SIGINT" ? 0 : config.shutdownDelayMs;
    logger.info("shutting down: readiness now fails, still serving", { signal, delayMs });
    setTimeout(() => {
      logger.info("closing listeners; waiting for in-flight requests", { graceMs: config.shutdownGraceMs });
      reconciler.stop();
      healthChecker.stop();
      void stopSource();
      const servers = [httpServer, tls.server];
      void Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => {
        admin.close();
        proxy.close();
        metrics.close();
        logger.info("stopped");
        void released.finally(() => process.exit(0));
      });
      for (const server of servers) server.closeIdleConnections();
      setTimeout(() => {
        logger.warn("shutdown grace expired; closing remaining connections");
        for (const server of servers) server.closeAllConnections();
        process.exit(0);
      }, config.shutdownGraceMs).unref();
    }, delayMs).unref();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

const parsed = parseConfig(process.argv.slice(2), process.env);
if (parsed.ok === "help") {
  process.stdout.write(`${parsed.text}\n`);
} else if (!parsed.ok) {
  process.stderr.write(`turnout: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join("\n")}\nSee turnout --help.\n`);
  process.exitCode = 2;
} else {
  const logger = createLogger({ level: parsed.config.logLevel });
  run(parsed.config, logger).catch((error: unknown) => {
    logger.error("fatal start-up error", { error });
    process.exit(1);
  });
}

// --workers N > 1, the primary: the control plane plus a fleet of proxy workers,
// kept in step by replication messages (tables, EndpointSlices, Secrets,
// active-check flags); one /readyz and one /metrics for all of them.
import type { Config } from "../config/flags.ts";
import { EndpointRegistry } from "../endpoints/index.ts";
import { RouteTableHolder } from "../routing/published-table.ts";
import type { PublishedTable } from "../routing/published-table.ts";
import { DEFAULT_CERTIFICATE_NAME, TlsServer, generateSelfSignedCertificate } from "../tls/index.ts";
import type { Logger } from "../observability/logger.ts";
import { ControlPlane } from "./control-plane.ts";
import { activeCheckChanges, failedActiveChecks, snapshotMessage, tableUpdate } from "./replication.ts";
import { ensurePortFree, pickFreePort, reusesPort } from "./listen.ts";
import { gracefulShutdown } from "./shutdown.ts";
import type { SnapshotMessage } from "./messages.ts";
import type { Turnout } from "./turnout.ts";
import { WorkerFleet } from "./worker-fleet.ts";
import { forwardEngineFromEnv } from "../proxy/forwarder.ts";

export async function runPrimary(config: Readonly<Config>, logger: Logger): Promise<Turnout> {
  // Checked here too, so an unknown engine stops turnout at once instead of every worker.
  const engine = forwardEngineFromEnv();
  const holder = new RouteTableHolder();
  const registry = new EndpointRegistry({ logger: logger.child({ component: "endpoints" }) });
  // One default certificate for every worker: clients must not see it change between connections.
  const selfSigned = generateSelfSignedCertificate({ commonName: DEFAULT_CERTIFICATE_NAME, now: new Date() });
  // Port 0 is resolved here, once: workers asking the kernel each time would get a new
  // port whenever every worker had exited (node:cluster drops the shared socket then).
  const ports = {
    http: config.httpPort === 0 ? await pickFreePort(config.bindAddress) : config.httpPort,
    https: config.httpsPort === 0 ? await pickFreePort(config.bindAddress) : config.httpsPort,
  };
  const fleet: WorkerFleet = new WorkerFleet({
    size: config.workers,
    unresponsiveAfterMs: config.workerUnresponsiveTimeoutMs,
    logger: logger.child({ component: "workers" }),
    snapshot: (): SnapshotMessage => snapshotMessage({ selfSigned, ports, published: holder.current, store: control.store, registry }),
  });

  // Active-check flags are replicated level-triggered: after anything that may change
  // them, the set failing now is compared with the set last sent (once per tick).
  let sentFailing = new Set<string>();
  let syncQueued = false;
  const syncActiveChecks = (): void => {
    if (syncQueued) return;
    syncQueued = true;
    queueMicrotask(() => {
      syncQueued = false;
      const failing = new Set(failedActiveChecks(registry));
      for (const change of activeCheckChanges(sentFailing, failing)) fleet.broadcast(change);
      sentFailing = failing;
    });
  };

  let lastBroadcast: PublishedTable | undefined;
  const control: ControlPlane = await ControlPlane.create({
    config,
    logger,
    holder,
    registry,
    // Never listens: it builds the workers' certificate index once, to report its problems once.
    certificates: new TlsServer({ defaultSecret: config.defaultSslCertificate, selfSigned }),
    onPublish: (published) => {
      // One message for every worker: only the hosts that changed since the last one.
      fleet.broadcast(tableUpdate(lastBroadcast, published));
      lastBroadcast = published;
      syncActiveChecks();
    },
    notReadyReason: () => fleet.notReadyReason(),
    endpointMetrics: false,
    otherMetrics: () => fleet.collectMetrics(),
    debugExtras: () => ({ workers: fleet.status() }),
  });
  control.store.onChange((change) => {
    const { object } = change;
    if (object.kind === "EndpointSlice") fleet.broadcast({ type: "slice", change: change.type, slice: object });
    else if (object.kind === "Secret") fleet.broadcast({ type: "secret", change: change.type, secret: object });
  });
  control.healthChecker.onTransition(syncActiveChecks);
  registry.onChange(syncActiveChecks);

  const admin = await control.listenAdmin();
  for (const port of [ports.http, ports.https]) {
    if (reusesPort(config.reusePort, port)) await ensurePortFree(port, config.bindAddress);
  }
  const { http, https } = await fleet.start();
  // How connections reach the workers: a socket each (dealt by the kernel's hash) or one shared.
  const sockets = (port: number): string => (reusesPort(config.reusePort, port) ? "one per worker" : "shared");
  logger.info("listening", { http, https, admin, bindAddress: config.bindAddress, mode: config.mode, workers: config.workers, engine, sockets: { http: sockets(ports.http), https: sockets(ports.https) } });
  await control.start();

  return gracefulShutdown({ config, logger, control, drainProxy: (graceMs) => fleet.drain(graceMs) });
}

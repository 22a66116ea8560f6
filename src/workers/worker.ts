// A proxy worker: the data plane over a replica of the primary's state, fed by its
// messages; answers metric requests with its own registry; drains when told to.
// Signals are the primary's business, not a worker's.
import cluster from "node:cluster";
import type { Config } from "../config/flags.ts";
import { EndpointRegistry } from "../endpoints/index.ts";
import { RouteTableHolder } from "../routing/published-table.ts";
import type { Logger } from "../observability/logger.ts";
import { createMetrics } from "../observability/metrics.ts";
import { endpointStateCounts } from "../observability/endpoint-states.ts";
import { DataPlane } from "./data-plane.ts";
import { parsePrimaryMessage } from "./messages.ts";
import type { PrimaryMessage, WorkerMessage } from "./messages.ts";
import { Replica } from "./replication.ts";
import { releaseMemory } from "./release-memory.ts";
import type { Turnout } from "./turnout.ts";

function send(message: WorkerMessage): void {
  process.send?.(message);
}

export function runWorker(config: Readonly<Config>, baseLogger: Logger): Promise<Turnout> {
  const logger = baseLogger.child({ worker: cluster.worker?.id });
  const holder = new RouteTableHolder();
  const registry = new EndpointRegistry({ logger: logger.child({ component: "endpoints" }) });
  // turnout_endpoints comes from the workers: only they see passive ejections.
  const metrics = createMetrics({ collectEndpoints: () => endpointStateCounts(holder, registry) });
  let serving: { data: DataPlane; replica: Replica } | undefined;
  let releasedStartupMemory = false;
  let draining = false;

  const drain = (graceMs: number): void => {
    if (draining) return;
    draining = true;
    logger.debug("proxy worker draining", { graceMs });
    void (serving?.data.drain(graceMs) ?? Promise.resolve()).then(() => {
      metrics.close();
      process.exit(0);
    });
  };

  return new Promise((resolve, reject) => {
    const start = (snapshot: Extract<PrimaryMessage, { type: "snapshot" }>): void => {
      let data: DataPlane;
      try {
        data = new DataPlane({ config: { ...config, httpPort: snapshot.ports.http, httpsPort: snapshot.ports.https }, logger, holder, registry, selfSigned: snapshot.selfSigned });
      } catch (error) {
        return reject(error instanceof Error ? error : new Error(String(error)));
      }
      const replica = new Replica({
        holder,
        registry,
        onTable: (table) => {
          data.tableChanged(table);
          // The first table is the large allocation of a worker's life (deserialising it
          // grows the young generation): give back what it left behind, once.
          if (!releasedStartupMemory) {
            releasedStartupMemory = true;
            releaseMemory();
          }
        },
        // Problems are the primary's to report (once, not once per worker).
        onCertificates: (table, secrets) => void data.tls.update(table, secrets),
        onResync: (generation) => {
          logger.warn("a table update did not fit the table held; asking the primary for the whole table", { generation });
          send({ type: "resync", generation });
        },
      });
      serving = { data, replica };
      replica.apply(snapshot);
      send({ type: "applied", generation: replica.generation });
      data.listen(config.reusePort).then((ports) => {
        send({ type: "listening", ...ports });
        logger.debug("proxy worker serving", { ...ports, generation: replica.generation });
        resolve({ shutdown: (signal) => logger.debug("signal ignored: the primary coordinates shutdown", { signal }) });
      }, reject);
    };

    process.on("message", (raw: unknown) => {
      const parsed = parsePrimaryMessage(raw);
      if (!parsed.ok) return logger.warn("ignored a message from the primary", { error: parsed.error });
      const message = parsed.message;
      switch (message.type) {
        case "snapshot":
          if (serving) return logger.warn("ignored a second snapshot");
          return start(message);
        case "ping":
          return send({ type: "pong" });
        case "metrics-request":
          void metrics.registry.getMetricsAsJSON().then((snapshot) => send({ type: "metrics", id: message.id, metrics: snapshot }));
          return;
        case "drain":
          return drain(message.graceMs);
        case "table":
        case "table-delta":
          if (!serving) return logger.warn("ignored a table sent before the snapshot");
          serving.replica.apply(message);
          return send({ type: "applied", generation: serving.replica.generation });
        default:
          if (!serving) return logger.warn("ignored an update sent before the snapshot", { type: message.type });
          return serving.replica.apply(message);
      }
    });
    // No handler for the primary going away: node:cluster ends a worker at once when its
    // channel closes unexpectedly (it would serve a table nobody updates).
    send({ type: "hello" });
  });
}

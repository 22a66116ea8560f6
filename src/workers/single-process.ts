// --workers 1: the control plane and the data plane in one process, sharing one
// route-table holder and one endpoint registry (so passive ejections show on /debug/routes).
import type { Config } from "../config/flags.ts";
import { EndpointRegistry } from "../endpoints/index.ts";
import { RouteTableHolder } from "../routing/published-table.ts";
import type { Logger } from "../observability/logger.ts";
import { ControlPlane } from "./control-plane.ts";
import { DataPlane } from "./data-plane.ts";
import { gracefulShutdown } from "./shutdown.ts";
import type { Turnout } from "./turnout.ts";

export async function runSingleProcess(config: Readonly<Config>, logger: Logger): Promise<Turnout> {
  const holder = new RouteTableHolder();
  const registry = new EndpointRegistry({ logger: logger.child({ component: "endpoints" }) });
  const data = new DataPlane({ config, logger, holder, registry });
  const control = await ControlPlane.create({
    config,
    logger,
    holder,
    registry,
    certificates: data.tls,
    onPublish: (published) => data.tableChanged(published.table),
    endpointMetrics: true,
  });
  const admin = await control.listenAdmin();
  const { http, https } = await data.listen();
  logger.info("listening", { http, https, admin, bindAddress: config.bindAddress, mode: config.mode, workers: 1, engine: data.engine });
  await control.start();

  return gracefulShutdown({ config, logger, control, drainProxy: (graceMs) => data.drain(graceMs) });
}

// Picks this process's role: a proxy worker (forked by a primary), the primary of
// --workers N > 1, or control plane and proxy in one process (--workers 1). Each role
// is imported on demand, so a worker never loads the Kubernetes client.
import cluster from "node:cluster";
import type { Config } from "../config/flags.ts";
import type { Logger } from "../observability/logger.ts";
import type { Turnout } from "./turnout.ts";

export async function startTurnout(config: Readonly<Config>, logger: Logger): Promise<Turnout> {
  if (cluster.isWorker) return (await import("./worker.ts")).runWorker(config, logger);
  if (config.workers > 1) return (await import("./primary.ts")).runPrimary(config, logger);
  return (await import("./single-process.ts")).runSingleProcess(config, logger);
}

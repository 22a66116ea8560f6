// The shutdown sequence of a process running the control plane (single process or
// primary): readiness fails and the Lease is handed over at once, the proxy keeps
// serving for --shutdown-delay (none on Ctrl-C), then drains, then the process exits 0.
import type { Config } from "../config/flags.ts";
import type { Logger } from "../observability/logger.ts";
import type { ControlPlane } from "./control-plane.ts";
import type { Turnout } from "./turnout.ts";

export interface ShutdownParts {
  config: Readonly<Config>;
  logger: Logger;
  control: ControlPlane;
  /** Stops the proxy accepting and resolves once in-flight requests are done (or the grace expired). */
  drainProxy: (graceMs: number) => Promise<void>;
}

export function gracefulShutdown({ config, logger, control, drainProxy }: ShutdownParts): Turnout {
  let shuttingDown = false;
  return {
    shutdown(signal) {
      if (shuttingDown) return;
      shuttingDown = true;
      const { delayMs, released } = control.beginShutdown(signal);
      logger.info("shutting down: readiness now fails, still serving", { signal, delayMs });
      setTimeout(() => {
        logger.info("closing listeners; waiting for in-flight requests", { graceMs: config.shutdownGraceMs });
        // Watches and health checks keep running while requests drain: a retry or a request on a
        // connection still open must not be sent to an endpoint that left meanwhile.
        void drainProxy(config.shutdownGraceMs).then(() => {
          control.stop();
          control.close();
          logger.info("stopped");
          void released.finally(() => process.exit(0));
        });
      }, delayMs).unref();
    },
  };
}

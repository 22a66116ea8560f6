// The data plane: HTTP and HTTPS listeners, the proxy, balancers, per-endpoint load
// and passive outlier detection over a route-table holder and an endpoint registry
// that something else keeps current. Runs in each worker, or beside the control
// plane in a single process (sharing its holder and registry).
import type { Server } from "node:http";
import type { Config } from "../config/flags.ts";
import { EndpointLoadTracker } from "../endpoints/index.ts";
import type { EndpointRegistry } from "../endpoints/index.ts";
import { OutlierDetector } from "../health/index.ts";
import { TlsServer } from "../tls/index.ts";
import type { CertificatePem } from "../tls/index.ts";
import type { RouteTableHolder } from "../routing/published-table.ts";
import type { RouteTable } from "../routing/route-table.ts";
import { BackendPicker } from "../proxy/backend-picker.ts";
import { ProxyServer } from "../proxy/proxy-server.ts";
import { LISTENER_OPTIONS } from "../proxy/listener-options.ts";
import { forwardEngineFromEnv } from "../proxy/forwarder.ts";
import type { ForwardEngine } from "../proxy/forwarder.ts";
import type { Logger } from "../observability/logger.ts";
import { publishHealthEvents } from "../observability/health-events.ts";
import { listen } from "./listen.ts";

/** While draining, how often connections that went idle are closed. */
const IDLE_SWEEP_MS = 250;

export interface DataPlaneOptions {
  config: Readonly<Config>;
  logger: Logger;
  holder: RouteTableHolder;
  registry: EndpointRegistry;
  /** The default certificate; workers get the primary's so every process serves the same one. Default: generated. */
  selfSigned?: CertificatePem;
}

export interface ListeningPorts {
  http: number;
  https: number;
}

export class DataPlane {
  readonly tls: TlsServer;
  /** The forwarding engine of this process (TURNOUT_PROXY_ENGINE). */
  readonly engine: ForwardEngine;
  readonly #o: DataPlaneOptions;
  readonly #picker: BackendPicker;
  readonly #proxy: ProxyServer;
  readonly #httpServer: Server;
  readonly #httpListener: { proto: "http"; port: number };
  readonly #httpsListener: { proto: "https"; port: number };

  constructor(options: DataPlaneOptions) {
    this.#o = options;
    const { config, logger, holder, registry } = options;
    const load = new EndpointLoadTracker();
    // Passive health is per process: each worker ejects on the failures its own traffic sees.
    const outliers = new OutlierDetector({ registry, logger: logger.child({ component: "health" }) });
    publishHealthEvents({ registry, outliers });
    registry.onChange((_service, removed) => {
      for (const address of removed) load.forget(address);
    });
    this.#picker = new BackendPicker(registry, { random: Math.random, now: () => performance.now(), load });
    this.tls = new TlsServer({ defaultSecret: config.defaultSslCertificate, listener: LISTENER_OPTIONS, ...(options.selfSigned ? { selfSigned: options.selfSigned } : {}) });
    this.engine = forwardEngineFromEnv();
    this.#proxy = new ProxyServer({
      holder,
      picker: this.#picker,
      load,
      reporter: outliers,
      httpsRedirectPort: config.httpsRedirectPort,
      engine: this.engine,
      logger: logger.child({ component: "proxy" }),
    });
    this.#httpListener = { proto: "http", port: config.httpPort };
    this.#httpsListener = { proto: "https", port: config.httpsPort };
    this.#httpServer = this.#proxy.createServer(this.#httpListener);
    this.#proxy.attach(this.tls.server, this.#httpsListener);
  }

  /** After a table publish: balancers of backends no route names any more are dropped. */
  tableChanged(table: RouteTable): void {
    this.#picker.retain(table.backends);
  }

  /** `reusePort`: one of several workers, each on a socket of its own (see listen.ts). */
  async listen(reusePort = false): Promise<ListeningPorts> {
    const { httpPort, httpsPort, bindAddress } = this.#o.config;
    const http = await listen(this.#httpServer, httpPort, bindAddress, reusePort);
    const https = await listen(this.tls.server, httpsPort, bindAddress, reusePort);
    // With port 0 the kernel picks; X-Forwarded-Port must name the real one.
    this.#httpListener.port = http;
    this.#httpsListener.port = https;
    return { http, https };
  }

  /**
   * Stops accepting and waits for in-flight requests; every response from now on
   * closes its connection, and connections that go idle are closed as they do. After
   * `graceMs` the remaining connections are closed. Resolves either way.
   */
  drain(graceMs: number): Promise<void> {
    const servers = [this.#httpServer, this.tls.server];
    this.#proxy.startDraining();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        clearInterval(sweeper);
        this.#proxy.close();
        resolve();
      };
      const timer = setTimeout(() => {
        this.#o.logger.warn("shutdown grace expired; closing remaining connections", { graceMs });
        for (const server of servers) server.closeAllConnections();
        finish();
      }, graceMs);
      // Responses that started before the drain promised keep-alive; their connections close once idle.
      const sweeper = setInterval(() => {
        for (const server of servers) server.closeIdleConnections();
      }, IDLE_SWEEP_MS);
      void Promise.all(servers.map((server) => new Promise<void>((done) => server.close(() => done())))).then(finish);
      for (const server of servers) server.closeIdleConnections();
    });
  }
}

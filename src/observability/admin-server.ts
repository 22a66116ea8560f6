// Admin server on its own port: liveness, readiness, Prometheus metrics and
// /debug/routes (the published table with each backend's endpoints, as JSON).
import http from "node:http";
import type { RouteTableHolder } from "../routing/published-table.ts";
import { describeRouteTable } from "../routing/index.ts";
import type { Diagnostic } from "../routing/route-table.ts";
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";

export interface AdminServerOptions {
  holder: RouteTableHolder;
  registry: EndpointRegistry;
  /** undefined when ready; otherwise why not (shown on /readyz). */
  notReadyReason: () => string | undefined;
  diagnostics: () => readonly Diagnostic[];
  /** Prometheus exposition text and its content type. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** More /debug/routes fields (with --workers > 1: what each proxy worker serves). */
  debugExtras?: () => Record<string, unknown>;
}

export function createAdminServer(options: AdminServerOptions): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, contentType: string, body: string): void => {
      res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
      res.end(body);
    };
    switch (path) {
      case "/healthz":
        return reply(200, "text/plain; charset=utf-8", "ok\n");
      case "/readyz": {
        const reason = options.notReadyReason();
        return reason === undefined ? reply(200, "text/plain; charset=utf-8", "ready\n") : reply(503, "text/plain; charset=utf-8", `not ready: ${reason}\n`);
      }
      case "/debug/routes":
        return reply(200, "application/json", `${JSON.stringify(debugRoutes(options), null, 2)}\n`);
      case "/metrics":
        if (!options.metrics) return reply(404, "text/plain; charset=utf-8", "metrics are not enabled\n");
        options.metrics().then(
          ({ contentType, body }) => reply(200, contentType, body),
          (error: unknown) => reply(500, "text/plain; charset=utf-8", `metrics failed: ${String(error)}\n`),
        );
        return;
      default:
        return reply(404, "text/plain; charset=utf-8", "not found: try /healthz, /readyz, /metrics, /debug/routes\n");
    }
  });
}

function debugRoutes(options: AdminServerOptions): unknown {
  const published = options.holder.current;
  const extras = options.debugExtras?.() ?? {};
  if (!published) return { generation: 0, table: null, endpoints: {}, diagnostics: options.diagnostics(), ...extras };
  const endpoints: Record<string, unknown> = {};
  for (const backend of published.table.backends) {
    const set = options.registry.endpointSet(backend);
    endpoints[backend.key] = set.all.map((e) => ({
      address: e.address,
      ready: e.ready,
      serving: e.serving,
      terminating: e.terminating,
      usable: set.usable.includes(e),
      ...(e.targetName !== undefined ? { target: e.targetName } : {}),
    }));
  }
  return {
    generation: published.generation,
    publishedAt: new Date(published.publishedAt).toISOString(),
    table: describeRouteTable(published.table),
    endpoints,
    diagnostics: options.diagnostics(),
    ...extras,
  };
}

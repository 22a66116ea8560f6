// Bridges the health stage's hooks to the metric event channels. Each part is
// optional: with --workers > 1 active checks run in the primary, while panic mode
// and passive ejections happen in the workers.
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { ActiveHealthChecker, OutlierDetector } from "../health/index.ts";
import { publishEjection, publishEndpointHealth, publishPanic } from "./events.ts";

export interface HealthEventSources {
  /** Whose endpoint sets report panic mode (the one the proxy picks from). */
  registry?: EndpointRegistry;
  checker?: ActiveHealthChecker;
  outliers?: OutlierDetector;
}

export function publishHealthEvents({ registry, checker, outliers }: HealthEventSources): void {
  registry?.onPanic((event) => {
    if (event.entered) publishPanic({ service: event.backendKey, healthy: 0, total: event.candidates });
  });
  outliers?.addListener({
    ejected: (event) => {
      publishEjection({ service: event.backendKey, endpoint: event.address, durationSeconds: event.durationMs / 1000 });
      publishEndpointHealth({ service: event.backendKey, endpoint: event.address, healthy: false, source: "passive" });
    },
  });
  checker?.onTransition((t) => publishEndpointHealth({ service: t.backendKey, endpoint: t.address, healthy: t.healthy, source: "active" }));
}

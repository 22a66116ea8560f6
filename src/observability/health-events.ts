// Bridges the health stage's hooks to the metric event channels.
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { ActiveHealthChecker, OutlierDetector } from "../health/index.ts";
import { publishEjection, publishEndpointHealth, publishPanic } from "./events.ts";

export function publishHealthEvents(registry: EndpointRegistry, checker: ActiveHealthChecker, outliers: OutlierDetector): void {
  registry.onPanic((event) => {
    if (event.entered) publishPanic({ service: event.backendKey, healthy: 0, total: event.candidates });
  });
  outliers.addListener({
    ejected: (event) => {
      publishEjection({ service: event.backendKey, endpoint: event.address, durationSeconds: event.durationMs / 1000 });
      publishEndpointHealth({ service: event.backendKey, endpoint: event.address, healthy: false, source: "passive" });
    },
  });
  checker.onTransition((t) => publishEndpointHealth({ service: t.backendKey, endpoint: t.address, healthy: t.healthy, source: "active" }));
}

// endpoints: the EndpointRegistry (one EndpointSet per backend), per-endpoint
// health flags and load. May import types from store/, routing/ and observability/.
export type { Endpoint } from "./endpoint.ts";
export { endpointAddress } from "./endpoint.ts";
export type { EndpointHealth, UsableSelection } from "./endpoint-health.ts";
export { selectUsable } from "./endpoint-health.ts";
export type {
  EndpointHealthEntry,
  EndpointRegistryListener,
  EndpointRegistryOptions,
  EndpointSet,
  PanicEvent,
} from "./endpoint-registry.ts";
export { EndpointRegistry } from "./endpoint-registry.ts";
export type { EndpointLoadSnapshot } from "./endpoint-load.ts";
export { decayWeight, EndpointLoadTracker } from "./endpoint-load.ts";

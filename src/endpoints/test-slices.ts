// Test support: EndpointSlices of namespace "shop", one address per endpoint, port
// "http" 8080 unless given, without repeating every field.
import type { EndpointSlice } from "../store/objects.ts";

export interface TestSliceEndpoint {
  ip: string;
  /** Default true. */
  ready?: boolean;
  /** Default: as ready. */
  serving?: boolean;
  terminating?: boolean;
}

export function testSlice(service: string, endpoints: readonly TestSliceEndpoint[], options: { name?: string; port?: number; portName?: string } = {}): EndpointSlice {
  const name = options.name ?? `${service}-1`;
  return {
    kind: "EndpointSlice",
    meta: { namespace: "shop", name, uid: name, resourceVersion: "1", generation: 1, creationTimestamp: "", labels: {}, annotations: {} },
    serviceName: service,
    addressType: "IPv4",
    ports: [{ name: options.portName ?? "http", port: options.port ?? 8080, protocol: "TCP" }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
}

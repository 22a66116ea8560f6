// Endpoint: one address:port of a backend, as EndpointSlices describe it.

export interface Endpoint {
  /** `ip:port`, or `[ipv6]:port`: the registry key for per-endpoint state. */
  address: string;
  ip: string;
  port: number;
  family: 4 | 6;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zone?: string;
  nodeName?: string;
  /** The Pod (or other target) behind this endpoint, for logs. */
  targetName?: string;
}

export function endpointAddress(ip: string, port: number): string {
  // join builds one flat string; a template literal keeps its pieces, and the registry keeps one per endpoint.
  return ip.includes(":") ? ["[", ip, "]:", port].join("") : [ip, port].join(":");
}

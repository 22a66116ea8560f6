// Test support: build Endpoint values without repeating every field.
import type { Endpoint } from "../endpoints/endpoint.ts";
import { endpointAddress } from "../endpoints/endpoint.ts";

/** A ready, serving IPv4 endpoint. */
export function makeEndpoint(ip: string, port = 8080): Endpoint {
  return {
    address: endpointAddress(ip, port),
    ip,
    port,
    family: ip.includes(":") ? 6 : 4,
    ready: true,
    serving: true,
    terminating: false,
  };
}

/** `count` endpoints 10.0.<i / 250>.<i % 250 + 1>:8080, in index order. */
export function makeEndpoints(count: number, offset = 0): Endpoint[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return makeEndpoint(`10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`);
  });
}

/** A copy of `items` in a seeded random order (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

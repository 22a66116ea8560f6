// turnout_endpoints counts: every backend has its healthy count (0 included, what
// alerts look for); other states appear only when some endpoint is in them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import { RouteTableHolder } from "../routing/published-table.ts";
import type { BackendRef } from "../routing/route-table.ts";
import { testSlice } from "../endpoints/test-slices.ts";
import { endpointStateCounts } from "./endpoint-states.ts";

const backendOf = (service: string): BackendRef => ({ key: `shop/${service}:80`, namespace: "shop", service, port: 80, portName: "http" });

test("healthy is always counted; unhealthy, ejected and terminating only when non-zero", () => {
  const registry = new EndpointRegistry();
  const holder = new RouteTableHolder();
  holder.publish({ exactHosts: new Map(), wildcardHosts: new Map(), backends: ["web", "api", "empty"].map(backendOf) }, 1);
  registry.applySlice(testSlice("web", [{ ip: "10.0.0.1", ready: true }, { ip: "10.0.0.2", ready: true }]));
  registry.applySlice(
    testSlice("api", [
      { ip: "10.0.1.1", ready: true },
      { ip: "10.0.1.2", ready: true },
      { ip: "10.0.1.3", ready: false, terminating: true },
    ]),
  );
  registry.setFailedActiveCheck("10.0.1.2:8080", true);
  const counts = [...endpointStateCounts(holder, registry)].map((c) => `${c.service} ${c.state} ${c.count}`);
  assert.deepEqual(counts, [
    "shop/web:80 healthy 2",
    "shop/api:80 healthy 1",
    "shop/api:80 unhealthy 1",
    "shop/api:80 terminating 1",
    "shop/empty:80 healthy 0",
  ]);
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeRouteTable } from "./describe.ts";
import { routeTableFingerprint, routeTablesEqual } from "./fingerprint.ts";
import type { RouteTable } from "./route-table.ts";
import { group, hostRoutes, member, table } from "./test-tables.ts";

function sampleTable(reverse: boolean): RouteTable {
  const api = hostRoutes("api.example.com", reverse ? { "Exact:/b": "b", "/a": "a" } : { "/a": "a", "Exact:/b": "b" }, "fb");
  api.tlsSecret = "default/api-tls";
  api.prefix.set(
    "/canary",
    group("api.example.com", "/canary", "Prefix", [
      member("by-header", { conditions: [{ source: "header", name: "x-canary", op: "regex", value: "yes|1", regex: /^(?:yes|1)$/ }] }),
      member("stable", { weight: 90 }),
      member("canary", { weight: 10 }),
    ]),
  );
  const hosts = [api, hostRoutes("*.example.com", { "": "wild" }), hostRoutes("", { "": "any" }), hostRoutes("a.example.com", { "": "a-root" })];
  return table(reverse ? hosts.reverse() : hosts, "global");
}

void describe("describeRouteTable", () => {
  void it("lists exact hosts, wildcards, then any-host, routes sorted, with conditions as pattern text", () => {
    const view = describeRouteTable(sampleTable(false));
    assert.deepEqual(
      view.hosts.map((h) => [h.host, h.match]),
      [
        ["a.example.com", "exact"],
        ["api.example.com", "exact"],
        ["*.example.com", "wildcard"],
        ["", "any"],
      ],
    );
    const api = view.hosts[1];
    assert.equal(api?.tlsSecret, "default/api-tls");
    assert.deepEqual(
      api?.routes.map((r) => [r.path, r.pathType]),
      [
        ["/a", "Prefix"],
        ["/b", "Exact"],
        ["/canary", "Prefix"],
      ],
    );
    const canary = api?.routes[2];
    assert.deepEqual(canary?.conditioned[0]?.conditions, [{ source: "header", name: "x-canary", op: "regex", value: "yes|1" }]);
    assert.deepEqual(canary?.weighted.map((m) => [m.source, m.backend, m.weight]), [
      ["default/stable", "default/stable:80", 90],
      ["default/canary", "default/canary:80", 10],
    ]);
    assert.equal(canary?.totalWeight, 100);
    assert.equal(api?.fallback?.weighted[0]?.backend, "default/fb:80");
    assert.equal(view.hosts[3]?.routes[0]?.path, "/");
    assert.equal(view.defaultBackend?.weighted[0]?.backend, "default/global:80");
  });

  void it("is JSON-friendly and independent of insertion order", () => {
    const view = describeRouteTable(sampleTable(false));
    assert.deepEqual(JSON.parse(JSON.stringify(view)), view);
    assert.deepEqual(describeRouteTable(sampleTable(true)), view);
  });
});

void describe("routeTableFingerprint", () => {
  // Order independence comes from translation inserting in sorted order
  // (src/translate/determinism.test.ts checks shuffled inputs give equal fingerprints).
  void it("is equal for equal tables, and survives structuredClone", () => {
    const a = sampleTable(false);
    assert.equal(routeTableFingerprint(a), routeTableFingerprint(sampleTable(false)));
    assert.ok(routeTablesEqual(a, structuredClone(a)));
  });

  const changes: [string, (t: RouteTable) => void][] = [
    ["a weight", (t) => {
      const g = t.exactHosts.get("api.example.com")?.prefix.get("/canary");
      if (g?.weighted[1]) g.weighted[1].weight = 20;
    }],
    ["a regex", (t) => {
      const c = t.exactHosts.get("api.example.com")?.prefix.get("/canary")?.conditioned[0]?.conditions[0];
      if (c) c.regex = /^(?:yes|2)$/;
    }],
    ["a policy", (t) => {
      const m = t.exactHosts.get("api.example.com")?.prefix.get("/canary")?.weighted[0];
      if (m) m.policy = { ...m.policy, retries: 3 };
    }],
    ["the TLS secret", (t) => {
      const h = t.exactHosts.get("api.example.com");
      if (h) h.tlsSecret = "default/other";
    }],
    ["a removed default backend", (t) => {
      delete t.defaultBackend;
    }],
  ];
  for (const [what, change] of changes) {
    void it(`differs when ${what} changes`, () => {
      const changed = sampleTable(false);
      change(changed);
      assert.equal(routeTablesEqual(sampleTable(false), changed), false);
    });
  }
});

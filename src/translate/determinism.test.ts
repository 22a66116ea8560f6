// Translation is a pure function: equal input (in any order) gives equal output,
// the table shares nothing with the snapshot, and it survives structuredClone.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeRouteTable, matchRoute, routeTableFingerprint } from "../routing/index.ts";
import type { RouteTable, TranslationResult } from "../routing/index.ts";
import { seededRandom } from "../balancer/seeded-random.ts";
import type { Snapshot } from "../store/index.ts";
import { buildRouteTable } from "./build-route-table.ts";
import { at, backend, ingress, ingressClass, path, request, rule, secret, service, simpleIngress, snapshot } from "./test-objects.ts";

function richSnapshot(): Snapshot {
  return snapshot({
    ingresses: [
      ingress("shop", [rule("shop.example.com", path("/", "Prefix", backend("shop", "http")), path("/cart", "Exact", backend("cart", 80)))], {
        created: at(1),
        defaultBackend: backend("errors", 80),
        tls: [{ hosts: ["shop.example.com"], secretName: "shop-tls" }],
      }),
      simpleIngress("shop-canary", "shop.example.com", "/", "shop-v2", { created: at(2), annotations: { "turnout.dev/weight": "10" } }),
      simpleIngress("shop-beta", "shop.example.com", "/", "shop-v2", {
        created: at(3),
        annotations: { "turnout.dev/match-headers": "X-Beta~yes|true", "turnout.dev/load-balance": "least-request" },
      }),
      simpleIngress("conflict", "shop.example.com", "/cart", "cart", { created: at(4) }),
      ingress("wild", [rule("*.apps.example.com", path("/", "ImplementationSpecific", backend("apps", 80)))], { created: at(5), namespace: "apps" }),
      ingress("broken", [rule("bad_host", path("/", "Prefix", backend("x", 80))), rule("ok.example.com", path("/", "Prefix", backend("ghost", 80)))], { created: at(6) }),
      ingress("catch", [rule(undefined, path("/", "Prefix", backend("shop", 8080)))], { created: at(7), defaultBackend: backend("errors", 80) }),
      simpleIngress("typo", "t.example.com", "/", "shop", { created: at(8), annotations: { "turnout.dev/wieght": "5" } }),
      simpleIngress("foreign", "shop.example.com", "/", "shop", { className: "nginx" }),
    ],
    services: [
      service("shop", [["http", 8080]]),
      service("cart"),
      service("shop-v2"),
      service("errors"),
      service("apps", [80], { namespace: "apps" }),
    ],
    ingressClasses: [ingressClass("turnout"), ingressClass("nginx", "k8s.io/ingress-nginx")],
    secrets: [secret("shop-tls")],
  });
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function comparable(result: TranslationResult): string {
  return JSON.stringify({ table: describeRouteTable(result.table), diagnostics: result.diagnostics, accepted: result.accepted });
}

const probes = [
  request("shop.example.com", "/"),
  request("shop.example.com", "/cart"),
  request("shop.example.com", "/cart/x"),
  request("shop.example.com", "/x", { headers: { "x-beta": "yes" } }),
  request("a.apps.example.com", "/"),
  request("ok.example.com", "/"),
  request("t.example.com", "/"),
  request("nowhere.example.com", "/"),
];

function routesOf(table: RouteTable): string[] {
  return probes.map((r) => {
    const m = matchRoute(table, r, () => 0.95);
    return m ? `${m.via} ${m.member.backend.key}` : "404";
  });
}

void describe("determinism", () => {
  void it("the same input twice gives deep-equal results", () => {
    const a = buildRouteTable(richSnapshot());
    const b = buildRouteTable(richSnapshot());
    assert.deepStrictEqual(a, b);
    assert.equal(comparable(a), comparable(b));
    assert.ok(a.diagnostics.length >= 4, "the rich snapshot exercises diagnostics");
  });

  void it("shuffled input order gives the same table, diagnostics and accepted list", () => {
    const reference = buildRouteTable(richSnapshot());
    const random = seededRandom(7);
    for (let round = 0; round < 20; round++) {
      const s = richSnapshot();
      const result = buildRouteTable({
        ...s,
        ingresses: shuffled(s.ingresses, random),
        services: shuffled(s.services, random),
        ingressClasses: shuffled(s.ingressClasses, random),
        secrets: shuffled(s.secrets, random),
      });
      assert.equal(comparable(result), comparable(reference));
      assert.equal(routeTableFingerprint(result.table), routeTableFingerprint(reference.table));
    }
  });

  void it("the table is structured-cloneable and the clone routes the same requests", () => {
    const { table } = buildRouteTable(richSnapshot());
    const clone = structuredClone(table);
    assert.deepEqual(describeRouteTable(clone), describeRouteTable(table));
    assert.deepEqual(routesOf(clone), routesOf(table));
    assert.deepEqual(routesOf(table), [
      "route default/shop-v2:80",
      "route default/cart:80",
      "route default/cart:80",
      "route default/shop-v2:80",
      "route apps/apps:80",
      "route default/shop:8080",
      "route default/shop:8080",
      "route default/shop:8080",
    ]);
  });

  void it("the table shares no object with the snapshot", () => {
    const s = richSnapshot();
    const result = buildRouteTable(s);
    const before = comparable(result);
    for (const i of s.ingresses) {
      (i.meta.annotations as Record<string, string>)["turnout.dev/weight"] = "1";
      i.meta.name = "mutated";
      for (const r of i.rules) for (const p of r.paths) if (p.backend.service) p.backend.service.name = "mutated";
    }
    for (const svc of s.services) for (const port of svc.ports) port.name = "mutated";
    assert.equal(comparable(result), before);
  });
});

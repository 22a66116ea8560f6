// Default backends: per-host fallbacks, the global default, their conflicts, and
// --default-backend-service.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildRouteTable } from "./build-route-table.ts";
import { at, backend, ingress, path, reasons, routeOf, rule, service, simpleIngress, snapshot } from "./test-objects.ts";

const services = ["api", "web", "x", "fb-a", "fb-b", "fb-c", "only-default"].map((n) => service(n)).concat(service("global", [["http", 8080]], { namespace: "system" }));

void describe("default backends", () => {
  const result = buildRouteTable(
    snapshot({
      ingresses: [
        ingress("b", [rule("a.example.com", path("/web", "Prefix", backend("web", 80))), rule("b.example.com", path("/", "Exact", backend("web", 80)))], {
          created: at(2),
          defaultBackend: backend("fb-b", 80),
        }),
        ingress("a", [rule("a.example.com", path("/api", "Prefix", backend("api", 80)))], { created: at(1), defaultBackend: backend("fb-a", 80) }),
        ingress("c", [rule("c.example.com", path("/x", "Prefix", backend("x", 80)))], { created: at(3) }),
      ],
      services,
    }),
  );
  const cases: [string, string, string][] = [
    ["a.example.com", "/api/v1", "api:80"],
    ["a.example.com", "/web", "web:80"],
    // The oldest Ingress with rules for a.example.com and a defaultBackend is "a".
    ["a.example.com", "/other", "fb-a:80 (fallback)"],
    // b.example.com is only defined by "b": its own defaultBackend catches the rest.
    ["b.example.com", "/", "web:80"],
    ["b.example.com", "/other", "fb-b:80 (fallback)"],
    // c.example.com has no fallback: the global default (oldest Ingress defaultBackend) takes it.
    ["c.example.com", "/other", "fb-a:80 (default)"],
    ["unknown.example.com", "/", "fb-a:80 (default)"],
  ];
  for (const [host, p, expected] of cases) {
    void it(`${host}${p} -> ${expected}`, () => {
      assert.equal(routeOf(result, host, p), expected);
    });
  }

  void it("reports DefaultBackendConflict on the newer Ingress, naming what it still serves and what it lost", () => {
    assert.deepEqual(reasons(result), ["default/b DefaultBackendConflict"]);
    const message = result.diagnostics[0]?.message ?? "";
    assert.match(message, /Ingress default\/a/);
    assert.match(message, /still serves unmatched paths of "b\.example\.com"/);
    assert.match(message, /unmatched paths of "a\.example\.com" go to the defaultBackend of an older Ingress/);
  });

  void it("an Ingress with only a defaultBackend is valid and becomes the global default", () => {
    const r = buildRouteTable(snapshot({ ingresses: [ingress("only", [], { defaultBackend: backend("only-default", 80) })], services }));
    assert.deepEqual(r.diagnostics, []);
    assert.equal(routeOf(r, "anything.example.com", "/x"), "only-default:80 (default)");
    assert.deepEqual(r.table.backends.map((b) => b.key), ["default/only-default:80"]);
  });

  void it("an Ingress with neither rules nor defaultBackend gets EmptyIngress", () => {
    const r = buildRouteTable(snapshot({ ingresses: [ingress("empty", [])], services }));
    assert.deepEqual(reasons(r), ["default/empty EmptyIngress"]);
  });

  void it("a rule without paths gives its host the Ingress's defaultBackend", () => {
    const r = buildRouteTable(
      snapshot({
        ingresses: [
          ingress("hostonly", [rule("h.example.com")], { created: at(2), defaultBackend: backend("fb-b", 80) }),
          ingress("older", [], { created: at(1), defaultBackend: backend("fb-a", 80) }),
        ],
        services,
      }),
    );
    assert.equal(routeOf(r, "h.example.com", "/any"), "fb-b:80 (fallback)");
    assert.equal(routeOf(r, "other.example.com", "/any"), "fb-a:80 (default)");
  });

  void it("a rule without paths and no defaultBackend gets RuleWithoutPaths", () => {
    const r = buildRouteTable(snapshot({ ingresses: [ingress("nopaths", [rule("h.example.com")])], services }));
    assert.deepEqual(reasons(r), ["default/nopaths RuleWithoutPaths"]);
    assert.equal(r.table.exactHosts.size, 0);
  });

  void it("a broken defaultBackend is reported and the next oldest one is used", () => {
    const r = buildRouteTable(
      snapshot({
        ingresses: [
          ingress("broken", [], { created: at(1), defaultBackend: backend("ghost", 80) }),
          ingress("working", [], { created: at(2), defaultBackend: backend("fb-c", 80) }),
        ],
        services,
      }),
    );
    assert.deepEqual(reasons(r), ["default/broken ServiceNotFound"]);
    assert.match(r.diagnostics[0]?.message ?? "", /^defaultBackend: Service "default\/ghost" not found/);
    assert.equal(routeOf(r, "x.example.com", "/"), "fb-c:80 (default)");
  });
});

void describe("--default-backend-service", () => {
  const plain = simpleIngress("site", "site.example.com", "/", "web");

  const cases: { name: string; port: number | string; expected: string }[] = [
    { name: "by port number", port: 8080, expected: "global:8080 (default)" },
    { name: "by port name", port: "http", expected: "global:8080 (default)" },
  ];
  for (const c of cases) {
    void it(`catches unmatched requests when no Ingress has a defaultBackend (${c.name})`, () => {
      const r = buildRouteTable(snapshot({ ingresses: [plain], services, settings: { defaultBackendService: { namespace: "system", name: "global", port: c.port } } }));
      assert.deepEqual(r.diagnostics, []);
      assert.equal(routeOf(r, "site.example.com", "/"), "web:80");
      assert.equal(routeOf(r, "other.example.com", "/"), c.expected);
      assert.equal(r.table.defaultBackend?.weighted[0]?.source.name, "global");
      assert.ok(r.table.backends.some((b) => b.key === "system/global:8080"));
    });
  }

  void it("loses to an Ingress defaultBackend", () => {
    const r = buildRouteTable(
      snapshot({
        ingresses: [plain, ingress("d", [], { defaultBackend: backend("fb-a", 80) })],
        services,
        settings: { defaultBackendService: { namespace: "system", name: "global", port: 8080 } },
      }),
    );
    assert.equal(routeOf(r, "other.example.com", "/"), "fb-a:80 (default)");
  });

  void it("a missing Service is reported on the Service and requests get 404", () => {
    const r = buildRouteTable(snapshot({ ingresses: [plain], services, settings: { defaultBackendService: { namespace: "system", name: "nope", port: 80 } } }));
    assert.deepEqual(r.diagnostics.map((d) => [d.ref.kind, d.ref.namespace, d.ref.name, d.reason]), [["Service", "system", "nope", "ServiceNotFound"]]);
    assert.match(r.diagnostics[0]?.message ?? "", /--default-backend-service/);
    assert.equal(routeOf(r, "other.example.com", "/"), "404");
  });

  void it("without any default backend, unmatched requests get 404", () => {
    const r = buildRouteTable(snapshot({ ingresses: [plain], services }));
    assert.equal(r.table.defaultBackend, undefined);
    assert.equal(routeOf(r, "site.example.com", "/"), "web:80");
    assert.equal(routeOf(r, "other.example.com", "/"), "404");
  });
});

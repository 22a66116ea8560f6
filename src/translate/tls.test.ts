// TLS: which Secret serves each routed host.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildRouteTable } from "./build-route-table.ts";
import { at, backend, ingress, path, reasons, routeOf, rule, secret, service, snapshot } from "./test-objects.ts";

const web = backend("web", 80);

void describe("TLS secrets", () => {
  void it("names the Secret for each listed host that has routes, wildcards included", () => {
    const result = buildRouteTable(
      snapshot({
        ingresses: [
          ingress("site", [rule("a.example.com", path("/", "Prefix", web)), rule("*.apps.example.com", path("/", "Prefix", web))], {
            tls: [{ hosts: ["A.example.com", "*.apps.example.com", "no-routes.example.com"], secretName: "site-tls" }],
          }),
        ],
        services: [service("web")],
        secrets: [secret("site-tls")],
      }),
    );
    assert.deepEqual(result.diagnostics, []);
    assert.equal(result.table.exactHosts.get("a.example.com")?.tlsSecret, "default/site-tls");
    assert.equal(result.table.wildcardHosts.get("apps.example.com")?.tlsSecret, "default/site-tls");
    assert.equal(result.table.exactHosts.has("no-routes.example.com"), false);
  });

  void it("a missing Secret leaves the routes and the Secret name (the TLS stage reports it)", () => {
    const result = buildRouteTable(
      snapshot({
        ingresses: [ingress("site", [rule("a.example.com", path("/", "Prefix", web))], { tls: [{ hosts: ["a.example.com"], secretName: "absent" }] })],
        services: [service("web")],
      }),
    );
    assert.deepEqual(reasons(result), []);
    assert.equal(routeOf(result, "a.example.com", "/"), "web:80");
    assert.equal(result.table.exactHosts.get("a.example.com")?.tlsSecret, "default/absent");
  });

  void it("on conflicting Secrets for one host the oldest Ingress wins; the other gets TLSSecretConflict", () => {
    const result = buildRouteTable(
      snapshot({
        ingresses: [
          ingress("newer", [rule("a.example.com", path("/new", "Prefix", web))], { created: at(2), tls: [{ hosts: ["a.example.com"], secretName: "new-tls" }] }),
          ingress("older", [rule("a.example.com", path("/old", "Prefix", web))], { created: at(1), tls: [{ hosts: ["a.example.com"], secretName: "old-tls" }] }),
          // No conflict when a newer Ingress names the same Secret.
          ingress("same", [rule("a.example.com", path("/same", "Prefix", web))], { created: at(3), tls: [{ hosts: ["a.example.com"], secretName: "old-tls" }] }),
        ],
        services: [service("web")],
        secrets: [secret("new-tls"), secret("old-tls")],
      }),
    );
    assert.deepEqual(reasons(result), ["default/newer TLSSecretConflict"]);
    assert.match(result.diagnostics[0]?.message ?? "", /"default\/new-tls".*default\/older.*"default\/old-tls"/);
    assert.equal(result.table.exactHosts.get("a.example.com")?.tlsSecret, "default/old-tls");
  });

  void it("a tls entry without secretName sets nothing", () => {
    const result = buildRouteTable(
      snapshot({ ingresses: [ingress("site", [rule("a.example.com", path("/", "Prefix", web))], { tls: [{ hosts: ["a.example.com"] }] })], services: [service("web")] }),
    );
    assert.deepEqual(result.diagnostics, []);
    assert.equal(result.table.exactHosts.get("a.example.com")?.tlsSecret, undefined);
  });
});

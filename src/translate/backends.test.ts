// Backend resolution through Services: port by number or name, and every way a
// backend can fail (each failure drops only its own path, with a diagnostic).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildRouteTable } from "./build-route-table.ts";
import type { IngressBackend } from "../store/index.ts";
import { backend, ingress, path, reasons, routeOf, rule, service, snapshot } from "./test-objects.ts";

const services = [
  service("named", [["http", 8080], ["metrics", 9090]]),
  service("plain", [80]),
  service("external", [80], { type: "ExternalName" }),
  service("elsewhere", [80], { namespace: "other" }),
  // DNS-style: one number on two protocols, UDP listed first.
  { ...service("dns", []), ports: [{ name: "dns-udp", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53, protocol: "TCP" }] },
  { ...service("udp-only", []), ports: [{ name: "syslog", port: 514, protocol: "UDP" }] },
];

function translate(tested: IngressBackend) {
  return buildRouteTable(
    snapshot({
      ingresses: [
        ingress("app", [rule("example.com", path("/tested", "Prefix", tested), path("/ok", "Prefix", backend("plain", 80)))]),
      ],
      services,
    }),
  );
}

void describe("backend resolution", () => {
  void it("resolves a port number to the Service port and its name", () => {
    const result = translate(backend("named", 8080));
    assert.deepEqual(result.diagnostics, []);
    assert.deepEqual(result.table.exactHosts.get("example.com")?.prefix.get("/tested")?.weighted[0]?.backend, {
      key: "default/named:8080",
      namespace: "default",
      service: "named",
      port: 8080,
      portName: "http",
    });
  });

  void it("resolves a port name to the Service port number", () => {
    const result = translate(backend("named", "metrics"));
    assert.equal(routeOf(result, "example.com", "/tested"), "named:9090");
    assert.equal(result.table.backends.find((b) => b.service === "named")?.key, "default/named:9090");
  });

  void it("resolves a port number to its TCP Service port when UDP shares the number", () => {
    const result = translate(backend("dns", 53));
    assert.deepEqual(result.diagnostics, []);
    assert.equal(result.table.backends.find((b) => b.service === "dns")?.portName, "dns-tcp");
  });

  void it("gives an unnamed Service port the name \"\"", () => {
    const result = translate(backend("plain", 80));
    assert.equal(result.table.backends[0]?.portName, "");
  });

  void it("lists each referenced backend once, sorted by key", () => {
    const result = translate(backend("named", "http"));
    assert.deepEqual(result.table.backends.map((b) => b.key), ["default/named:8080", "default/plain:80"]);
  });

  const failures: { name: string; backend: IngressBackend; reason: string; mentions: RegExp }[] = [
    { name: "a missing Service", backend: backend("ghost", 80), reason: "ServiceNotFound", mentions: /default\/ghost/ },
    { name: "a Service in another namespace", backend: backend("elsewhere", 80), reason: "ServiceNotFound", mentions: /default\/elsewhere/ },
    { name: "a missing port number", backend: backend("named", 7000), reason: "ServicePortNotFound", mentions: /port 7000.*http:8080, metrics:9090/ },
    { name: "a missing port name", backend: backend("named", "grpc"), reason: "ServicePortNotFound", mentions: /port named "grpc"/ },
    { name: "a UDP-only port number", backend: backend("udp-only", 514), reason: "ServicePortNotFound", mentions: /port 514 is UDP; HTTP backends need a TCP port/ },
    { name: "a UDP port by name", backend: backend("dns", "dns-udp"), reason: "ServicePortNotFound", mentions: /port named "dns-udp" is UDP/ },
    {
      name: "a resource backend",
      backend: { resource: { apiGroup: "k8s.example.com", kind: "StorageBucket", name: "static" } },
      reason: "UnsupportedBackend",
      mentions: /StorageBucket\.k8s\.example\.com "static"/,
    },
    { name: "an ExternalName Service", backend: backend("external", 80), reason: "UnsupportedBackend", mentions: /ExternalName/ },
    { name: "a backend with both port number and name", backend: { service: { name: "named", port: { number: 8080, name: "http" } } }, reason: "InvalidBackend", mentions: /exactly one/ },
    { name: "a backend without port", backend: { service: { name: "named", port: {} } }, reason: "InvalidBackend", mentions: /exactly one/ },
    { name: "a backend naming nothing", backend: {}, reason: "InvalidBackend", mentions: /no Service/ },
  ];
  for (const f of failures) {
    void it(`drops a path to ${f.name} with ${f.reason}; the other path still routes`, () => {
      const result = translate(f.backend);
      assert.deepEqual(reasons(result), [`default/app ${f.reason}`]);
      const message = result.diagnostics[0]?.message ?? "";
      assert.match(message, f.mentions);
      assert.match(message, /"\/tested" \(Prefix\) of host "example\.com"/);
      assert.equal(result.diagnostics[0]?.severity, "Warning");
      assert.equal(routeOf(result, "example.com", "/tested"), "404");
      assert.equal(routeOf(result, "example.com", "/ok"), "plain:80");
      assert.deepEqual(result.table.backends.map((b) => b.key), ["default/plain:80"]);
    });
  }

  void it("prunes a host whose every path was dropped, so its requests reach the any-host rules", () => {
    const result = buildRouteTable(
      snapshot({
        ingresses: [
          ingress("broken", [rule("broken.example.com", path("/", "Prefix", backend("ghost", 80)))]),
          ingress("catch-all", [rule(undefined, path("/", "Prefix", backend("plain", 80)))]),
        ],
        services,
      }),
    );
    assert.equal(result.table.exactHosts.has("broken.example.com"), false);
    assert.equal(routeOf(result, "broken.example.com", "/"), "plain:80");
  });
});

// Annotation problems: invalid annotations keep the last accepted version (or leave
// the Ingress out), unknown ones are reported but harmless; `accepted` tracks which
// current versions went into the table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildRouteTable } from "./build-route-table.ts";
import { at, reasons, routeOf, service, simpleIngress, snapshot } from "./test-objects.ts";

const services = [service("v1"), service("v2"), service("other")];
const HOST = "app.example.com";

void describe("invalid and unknown annotations", () => {
  const broken = simpleIngress("app", HOST, "/", "v2", {
    resourceVersion: "9",
    annotations: { "turnout.dev/weight": "150", "turnout.dev/retries": "many" },
  });
  const previous = simpleIngress("app", HOST, "/", "v1", { resourceVersion: "7", annotations: { "turnout.dev/weight": "100" } });
  const neighbour = simpleIngress("other", "other.example.com", "/", "other", { created: at(3) });

  void it("without a last accepted version, the Ingress is left out with one InvalidAnnotation per problem", () => {
    const result = buildRouteTable(snapshot({ ingresses: [broken, neighbour], services }));
    assert.deepEqual(reasons(result), ["default/app InvalidAnnotation", "default/app InvalidAnnotation"]);
    const messages = result.diagnostics.map((d) => d.message).join("\n");
    assert.match(messages, /turnout\.dev\/weight "150": .*left out until this is fixed/);
    assert.match(messages, /turnout\.dev\/retries "many": /);
    assert.ok(result.diagnostics.every((d) => d.severity === "Warning"));
    assert.equal(routeOf(result, HOST, "/"), "404");
    assert.equal(routeOf(result, "other.example.com", "/"), "other:80");
    assert.deepEqual(result.accepted, ["default/other"]);
  });

  void it("with a valid last accepted version, that version is translated instead and the message says so", () => {
    const result = buildRouteTable(snapshot({ ingresses: [broken, neighbour], services, lastAccepted: [previous] }));
    assert.deepEqual(reasons(result), ["default/app InvalidAnnotation", "default/app InvalidAnnotation"]);
    assert.match(result.diagnostics[0]?.message ?? "", /still serving the last accepted version \(resourceVersion "7"\)/);
    assert.equal(routeOf(result, HOST, "/"), "v1:80");
    assert.deepEqual(result.accepted, ["default/other"]);
  });

  void it("a last accepted version that is no longer ours is not used", () => {
    const foreign = simpleIngress("app", HOST, "/", "v1", { className: "nginx" });
    const result = buildRouteTable(snapshot({ ingresses: [broken], services, lastAccepted: [foreign] }));
    assert.equal(routeOf(result, HOST, "/"), "404");
  });

  void it("a valid current version is used even when a last accepted version exists", () => {
    const current = simpleIngress("app", HOST, "/", "v2", { annotations: { "turnout.dev/weight": "100" } });
    const result = buildRouteTable(snapshot({ ingresses: [current], services, lastAccepted: [previous] }));
    assert.deepEqual(result.diagnostics, []);
    assert.equal(routeOf(result, HOST, "/"), "v2:80");
    assert.deepEqual(result.accepted, ["default/app"]);
  });

  void it("an unknown turnout.dev annotation is an UnknownAnnotation warning; the Ingress is still used", () => {
    const typo = simpleIngress("app", HOST, "/", "v2", { annotations: { "turnout.dev/wieght": "10", "example.org/other": "x" } });
    const result = buildRouteTable(snapshot({ ingresses: [typo], services }));
    assert.deepEqual(reasons(result), ["default/app UnknownAnnotation"]);
    assert.match(result.diagnostics[0]?.message ?? "", /turnout\.dev\/wieght "10".*turnout\.dev\/weight/);
    assert.equal(routeOf(result, HOST, "/"), "v2:80");
    assert.deepEqual(result.accepted, ["default/app"]);
  });

  void it("accepted lists our Ingresses with valid annotations, sorted, and never other controllers' ones", () => {
    const result = buildRouteTable(
      snapshot({
        ingresses: [
          simpleIngress("zeta", "z.example.com", "/", "v1", { namespace: "b" }),
          simpleIngress("alpha", "a.example.com", "/", "v1", { namespace: "b" }),
          simpleIngress("mid", "m.example.com", "/", "v1", { namespace: "a" }),
          simpleIngress("foreign", "f.example.com", "/", "v1", { className: "nginx" }),
        ],
        services,
      }),
    );
    assert.deepEqual(result.accepted, ["a/mid", "b/alpha", "b/zeta"]);
  });
});

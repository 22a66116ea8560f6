// Edge schemas: raw Kubernetes JSON (from a watch, a typed list, or YAML) into
// normalised objects; structural garbage rejected with a path to the problem.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseClusterObject, parseEndpointSlice, parseIngress, parseSecret } from "./schemas.ts";

test("an Ingress from a watch event (string timestamp) and from a typed list (Date) normalise alike", () => {
  const raw = {
    metadata: { name: "shop", namespace: "web", creationTimestamp: "2026-01-02T03:04:05Z", annotations: { a: "b" } },
    spec: { ingressClassName: "turnout", rules: [{ host: "shop.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "s", port: { number: 80 } } } }] } }] },
  };
  const fromWatch = parseIngress(raw);
  const fromList = parseIngress({ ...raw, metadata: { ...raw.metadata, creationTimestamp: new Date("2026-01-02T03:04:05Z") } });
  assert.ok(fromWatch.ok && fromList.ok);
  assert.equal(fromWatch.object.meta.creationTimestamp, "2026-01-02T03:04:05Z");
  assert.equal(fromList.object.meta.creationTimestamp, "2026-01-02T03:04:05.000Z");
  assert.deepEqual(fromWatch.object.rules, [{ host: "shop.test", paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "s", port: { number: 80 } } } }] }]);
});

test("semantic problems pass the edge (translation reports them); structural garbage does not", () => {
  const odd = parseIngress({ metadata: { name: "x" }, spec: { rules: [{ http: { paths: [{ path: "no-slash", pathType: "Weird", backend: {} }] } }] } });
  assert.ok(odd.ok);
  const garbage = parseIngress({ metadata: { name: "x" }, spec: { rules: "not a list" } });
  assert.equal(garbage.ok, false);
  assert.match(garbage.ok ? "" : garbage.message, /spec\.rules/);
});

test("EndpointSlice conditions: unset ready means ready; unset serving follows ready", () => {
  const parsed = parseEndpointSlice({
    metadata: { name: "s-1", namespace: "web", labels: { "kubernetes.io/service-name": "s" } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080 }],
    endpoints: [{ addresses: ["10.0.0.1"] }, { addresses: ["10.0.0.2"], conditions: { ready: false } }, { addresses: ["10.0.0.3"], conditions: { ready: false, serving: true, terminating: true } }],
  });
  assert.ok(parsed.ok);
  assert.equal(parsed.object.serviceName, "s");
  assert.deepEqual(parsed.object.endpoints.map((e) => e.conditions), [
    { ready: true, serving: true, terminating: false },
    { ready: false, serving: false, terminating: false },
    { ready: false, serving: true, terminating: true },
  ]);
});

test("Secret data is base64-decoded; stringData is accepted in files", () => {
  const parsed = parseSecret({ metadata: { name: "t" }, type: "kubernetes.io/tls", data: { "tls.crt": Buffer.from("CERT").toString("base64") }, stringData: { "tls.key": "KEY" } });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.object.data, { "tls.crt": "CERT", "tls.key": "KEY" });
});

test("manifests of kinds turnout does not read are recognised and ignored", () => {
  assert.deepEqual(parseClusterObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } }), { ok: "ignored", apiVersion: "apps/v1", kind: "Deployment" });
  assert.equal(parseClusterObject({ hello: "world" }).ok, false);
  assert.equal(parseClusterObject({ apiVersion: "v1", kind: "Service", metadata: { name: "s" } }).ok, true);
});

// Which Ingress status writes are needed: ours get the address, ones no longer
// ours lose it, everything already right is left alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Ingress, LoadBalancerIngress, Service } from "../store/objects.ts";
import { planStatusUpdates, serviceAddresses } from "./status-writer.ts";
import { backoffDelay } from "./resilient-informer.ts";

const ingress = (name: string, status: LoadBalancerIngress[]): Ingress => ({
  kind: "Ingress",
  meta: { namespace: "default", name, uid: name, resourceVersion: "1", generation: 1, creationTimestamp: "", labels: {}, annotations: {} },
  tls: [],
  rules: [],
  status,
});

test("status plan", () => {
  const ours = new Set(["mine-empty", "mine-right", "mine-stale"]);
  const desired = [{ ip: "192.0.2.1" }];
  const plan = planStatusUpdates(
    [
      ingress("mine-empty", []),
      ingress("mine-right", [{ ip: "192.0.2.1" }]),
      ingress("mine-stale", [{ ip: "192.0.2.9" }]),
      ingress("left-us", [{ ip: "192.0.2.1" }]),
      ingress("someone-elses", [{ hostname: "lb.other" }]),
    ],
    desired,
    (i) => ours.has(i.meta.name),
  );
  assert.deepEqual(
    plan.map(([i, addresses]) => [i.meta.name, addresses]),
    [
      ["mine-empty", desired],
      ["mine-stale", desired],
      ["left-us", []],
    ],
  );
});

test("informer restart backoff doubles up to the cap, with jitter in [delay/2, delay]", () => {
  const backoff = { initialMs: 500, maxMs: 30_000 };
  assert.equal(backoffDelay(0, backoff, () => 0), 250);
  assert.equal(backoffDelay(0, backoff, () => 0.999999) < 500, true);
  assert.equal(backoffDelay(3, backoff, () => 1), 4000);
  assert.equal(backoffDelay(20, backoff, () => 1), 30_000);
  assert.equal(backoffDelay(20, backoff, () => 0), 15_000);
});

const publishService = (type: string, fields: Partial<Service> = {}): Service => ({
  kind: "Service",
  meta: { namespace: "edge", name: "turnout", uid: "s", resourceVersion: "1", generation: 1, creationTimestamp: "", labels: {}, annotations: {} },
  type,
  ports: [],
  loadBalancerIngress: [],
  ...fields,
});

const addressCases: [string, Service, LoadBalancerIngress[]][] = [
  ["LoadBalancer: its ingress points", publishService("LoadBalancer", { loadBalancerIngress: [{ ip: "192.0.2.1" }, { hostname: "lb.example.com" }], clusterIP: "10.96.0.5" }), [{ ip: "192.0.2.1" }, { hostname: "lb.example.com" }]],
  ["LoadBalancer still provisioning: nothing yet", publishService("LoadBalancer", { clusterIP: "10.96.0.5" }), []],
  ["LoadBalancer with external IPs: both, once each", publishService("LoadBalancer", { loadBalancerIngress: [{ ip: "192.0.2.1" }], externalIPs: ["192.0.2.1", "198.51.100.2"] }), [{ ip: "192.0.2.1" }, { ip: "198.51.100.2" }]],
  ["ClusterIP: the cluster IP", publishService("ClusterIP", { clusterIP: "10.96.0.5" }), [{ ip: "10.96.0.5" }]],
  ["NodePort with external IPs: those", publishService("NodePort", { clusterIP: "10.96.0.5", externalIPs: ["198.51.100.2"] }), [{ ip: "198.51.100.2" }]],
  ["headless ClusterIP: nothing", publishService("ClusterIP"), []],
  ["ExternalName: the name", publishService("ExternalName", { externalName: "edge.example.com" }), [{ hostname: "edge.example.com" }]],
];

for (const [name, service, expected] of addressCases) {
  test(`publish Service address, ${name}`, () => {
    assert.deepEqual(serviceAddresses(service), expected);
  });
}

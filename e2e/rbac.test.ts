// RBAC proof: turnout runs against the API test server enforcing exactly the
// ClusterRole and Roles that `helm template` renders. Every feature must work
// (no request refused: no missing permission), and every permission granted must
// be used (none excessive).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle, RequestRecord } from "./kube-api-server/harness.ts";
import { TurnoutProcess } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service, tlsSecret } from "./support/objects.ts";
import type { Manifest } from "./support/objects.ts";
import { RELEASE_NAMESPACE, ofKind, render, roleSchema } from "./tools/chart-objects.ts";
import { generateSelfSignedCertificate } from "../src/tls/self-signed.ts";

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let roles: Manifest[];

/** `verb group/resource[/subresource]`, as RBAC rules and the request log both name calls. */
function permission(verb: string, group: string, resource: string, subresource?: string): string {
  return `${verb} ${group === "" ? "core" : group}/${resource}${subresource ? `/${subresource}` : ""}`;
}

before(async () => {
  roles = [...ofKind(await render(), "ClusterRole"), ...ofKind(await render(), "Role")] as Manifest[];
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["x1"], ["127.0.0.51"]);
  const k = api.client;
  const cert = generateSelfSignedCertificate({ commonName: "secure.test", dnsNames: ["secure.test"] });
  await k.apply(ingressClass());
  await k.apply(service("web"));
  await k.apply(endpointSlice("web-1", "web", fleet[0]!.port, [{ ip: "127.0.0.51" }]));
  await k.apply(tlsSecret("secure-tls", cert));
  await k.apply(ingress({ name: "site", host: "site.test", paths: [{ path: "/", service: "web", port: 80 }], tls: [{ hosts: ["site.test"], secretName: "secure-tls" }] }));
  // A broken reference, so turnout writes an Event.
  await k.apply(ingress({ name: "broken", host: "broken.test", paths: [{ path: "/", service: "missing", port: 80 }] }));
  await k.clearRequests();
  await k.setRbacPolicy(roles);
  turnout = await TurnoutProcess.start({
    kubeconfig: api.kubeconfigPath,
    args: ["--publish-status-address", "192.0.2.7"],
    env: { POD_NAME: "turnout-0", POD_NAMESPACE: RELEASE_NAMESPACE },
  });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

test("with exactly the chart's RBAC, every feature works and every granted permission is used", async () => {
  const res = await turnout.request("site.test", "/", { headers: { "x-forwarded-proto": "https" } });
  assert.ok(res.status === 200 || res.status === 308, `routing works (${res.status})`);
  const used = async (): Promise<RequestRecord[]> => api.client.requests();
  const has = (records: RequestRecord[], verb: string, resource: string, subresource?: string): boolean =>
    records.some((r) => r.allowed && r.verb === verb && r.resource === resource && (subresource === undefined || r.subresource === subresource));
  await turnout.waitUntil(async () => {
    const records = await used();
    return has(records, "patch", "ingresses", "status") && has(records, "create", "events") && (has(records, "update", "leases") || has(records, "create", "leases"));
  }, 10_000, "status, event and lease writes");
  // Renewal reads and updates the Lease.
  await turnout.waitUntil(async () => has(await used(), "update", "leases") && has(await used(), "get", "leases"), 10_000, "lease renewal");

  const records = await used();
  const refused = records.filter((r) => !r.allowed);
  assert.deepEqual(refused.map((r) => permission(r.verb, r.apiGroup, r.resource, r.subresource)), [], "a permission turnout needs is missing from the chart");

  const granted = new Set<string>();
  for (const role of roles) {
    for (const rule of roleSchema.parse(role).rules) {
      for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) granted.add(permission(verb, group, ...(resource.split("/") as [string, string?])));
    }
  }
  const usedPermissions = new Set(records.filter((r) => r.allowed).map((r) => permission(r.verb, r.apiGroup, r.resource, r.subresource)));
  const unused = [...granted].filter((p) => !usedPermissions.has(p));
  assert.deepEqual(unused, [], "the chart grants permissions turnout never uses");
});

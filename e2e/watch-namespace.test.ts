// --watch-namespace with the chart's namespace-scoped RBAC: the publish Service, the
// default backend and the default certificate live in the release namespace, outside
// the watched one. turnout must still see them (with exactly the rendered Roles), and
// must not wipe Ingress status while the publish Service is unknown.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, answeredBy } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service, tlsSecret } from "./support/objects.ts";
import { fingerprintOf, presentedCertificate } from "./support/tls-client.ts";
import type { Manifest } from "./support/objects.ts";
import { RELEASE_NAMESPACE, controller, flag, ofKind, render } from "./tools/chart-objects.ts";
import { generateSelfSignedCertificate } from "../src/tls/self-signed.ts";

const WATCHED = "apps";
const defaultCert = generateSelfSignedCertificate({ commonName: "edge-default.test", dnsNames: ["edge-default.test"] });

/**
 * The test's own calls share turnout's identity at the API test server: reading Ingress
 * status and writing the publish Service. These verbs (get, create, update) are ones
 * turnout never uses, so they cannot hide a permission the chart lacks.
 */
const TEST_CLIENT_ROLES: Manifest[] = [
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "test-client", namespace: WATCHED }, rules: [{ apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get"] }] },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "test-client", namespace: RELEASE_NAMESPACE },
    rules: [{ apiGroups: [""], resources: ["services", "services/status"], verbs: ["get", "create", "update"] }],
  },
];

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let publishService: { namespace: string; name: string };

const statusSchema = z.object({
  status: z.object({ loadBalancer: z.object({ ingress: z.array(z.object({ ip: z.string() })).default([]) }).default({ ingress: [] }) }).default({ loadBalancer: { ingress: [] } }),
});

async function statusOf(name: string): Promise<string> {
  const object = statusSchema.parse(await api.client.get({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: WATCHED, name }));
  return object.status.loadBalancer.ingress.map((entry) => entry.ip).join(",");
}

before(async () => {
  const objects = await render(
    "--set", "rbac.scope=namespace",
    "--set", `controller.watchNamespace=${WATCHED}`,
    "--set", `controller.defaultBackendService=${RELEASE_NAMESPACE}/fallback:80`,
    "--set", `controller.defaultSslCertificate=${RELEASE_NAMESPACE}/default-cert`,
  );
  const args = controller(objects).container.args;
  const [namespace = "", name = ""] = (flag(args, "publish-service") ?? "").split("/");
  publishService = { namespace, name };
  assert.equal(namespace, RELEASE_NAMESPACE, "the chart publishes its own Service, in the release namespace");
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["app", "fallback"], ["127.0.0.61", "127.0.0.62"]);
  const k = api.client;
  await k.apply(ingressClass());
  await k.apply(service("web", WATCHED));
  await k.apply(endpointSlice("web-1", "web", fleet[0]!.port, [{ ip: "127.0.0.61" }], WATCHED));
  await k.apply(service("fallback", RELEASE_NAMESPACE));
  await k.apply(endpointSlice("fallback-1", "fallback", fleet[0]!.port, [{ ip: "127.0.0.62" }], RELEASE_NAMESPACE));
  await k.apply(tlsSecret("default-cert", defaultCert, { namespace: RELEASE_NAMESPACE }));
  // Status another writer (an earlier install, say) left: it must survive while the publish Service is unknown.
  await k.apply({ ...ingress({ name: "site", namespace: WATCHED, host: "site.test", paths: [{ path: "/", service: "web", port: 80 }] }), status: { loadBalancer: { ingress: [{ ip: "203.0.113.1" }] } } });
  await k.setRbacPolicy([...ofKind(objects, "ClusterRole"), ...ofKind(objects, "Role"), ...TEST_CLIENT_ROLES]);
  await k.clearRequests();
  // The flags the chart renders, minus ports and paths the test process chooses itself.
  const chartFlags = ["watch-namespace", "publish-service", "default-backend-service", "default-ssl-certificate", "election-id"];
  turnout = await TurnoutProcess.start({
    kubeconfig: api.kubeconfigPath,
    args: chartFlags.map((name) => `--${name}=${flag(args, name) ?? ""}`),
    env: { POD_NAME: "turnout-0", POD_NAMESPACE: RELEASE_NAMESPACE },
  });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

describe("objects named by flags outside the watched namespace", () => {
  test("while the publish Service does not exist, Ingress status is left as it is", async () => {
    await turnout.waitForLog((line) => line.msg.startsWith("publish Service not found"), 10_000);
    assert.equal(await statusOf("site"), "203.0.113.1");
  });

  test("once the publish Service has a load-balancer address, our Ingresses carry it", async () => {
    // As the chart renders it: type LoadBalancer, its address in status.
    await api.client.apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: publishService.name, namespace: publishService.namespace },
      spec: { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: 8080 }] },
      status: { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } },
    });
    await turnout.waitUntil(async () => (await statusOf("site")) === "198.51.100.7", 10_000, "status from the publish Service");
  });

  test("the default backend in the release namespace answers unknown hosts", async () => {
    assert.equal(answeredBy(await turnout.request("site.test", "/")), "app");
    assert.equal(answeredBy(await turnout.request("unknown.test", "/")), "fallback");
  });

  test("the default certificate comes from the release namespace", async () => {
    const { fingerprint } = await presentedCertificate(turnout.httpsPort, "unknown.test");
    assert.equal(fingerprint, fingerprintOf(defaultCert));
  });

  test("the chart's Roles allow every call turnout made", async () => {
    const refused = (await api.client.requests()).filter((r) => !r.allowed);
    assert.deepEqual(refused.map((r) => `${r.verb} ${r.resource} in ${r.namespace ?? "(cluster)"}`), []);
  });
});

// RBAC on the API test server: rule matching as Kubernetes does it (table-driven), policy
// files with bindings skipped, 403 Forbidden Status objects, and the request log.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig, makeInformer, NetworkingV1Api } from "@kubernetes/client-node";
import { isAllowed, parseRbacDocuments, type RequestAttributes } from "./rbac.ts";
import { KubeApiError, startKubeApiServer, type KubeApiServerHandle } from "./harness.ts";

const POLICY = parseRbacDocuments([
  {
    kind: "ClusterRole",
    metadata: { name: "controller" },
    rules: [
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingressclasses"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["patch"] },
      { apiGroups: [""], resources: ["*"], verbs: ["list"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "update"], resourceNames: ["turnout-leader"] },
    ],
  },
  { kind: "Role", metadata: { name: "secrets", namespace: "team" }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] },
]);

void describe("RBAC rule matching", () => {
  const cases: [string, RequestAttributes, boolean][] = [
    ["list ingresses in all namespaces", { verb: "list", apiGroup: "networking.k8s.io", resource: "ingresses" }, true],
    ["watch ingressclasses", { verb: "watch", apiGroup: "networking.k8s.io", resource: "ingressclasses" }, true],
    ["update ingresses", { verb: "update", apiGroup: "networking.k8s.io", resource: "ingresses", namespace: "a", name: "x" }, false],
    ["patch ingresses/status", { verb: "patch", apiGroup: "networking.k8s.io", resource: "ingresses", subresource: "status", namespace: "a", name: "x" }, true],
    ["update ingresses/status", { verb: "update", apiGroup: "networking.k8s.io", resource: "ingresses", subresource: "status", namespace: "a", name: "x" }, false],
    ["patch ingresses (main resource)", { verb: "patch", apiGroup: "networking.k8s.io", resource: "ingresses", namespace: "a", name: "x" }, false],
    ["list services via core wildcard", { verb: "list", apiGroup: "", resource: "services" }, true],
    ["list services/status: '*' covers subresources", { verb: "list", apiGroup: "", resource: "services", subresource: "status" }, true],
    ["list in another group", { verb: "list", apiGroup: "discovery.k8s.io", resource: "endpointslices" }, false],
    ["get the named lease", { verb: "get", apiGroup: "coordination.k8s.io", resource: "leases", namespace: "a", name: "turnout-leader" }, true],
    ["get another lease", { verb: "get", apiGroup: "coordination.k8s.io", resource: "leases", namespace: "a", name: "other" }, false],
    ["create a lease (no name to match)", { verb: "create", apiGroup: "coordination.k8s.io", resource: "leases", namespace: "a" }, false],
    ["get a secret in the Role's namespace", { verb: "get", apiGroup: "", resource: "secrets", namespace: "team", name: "s" }, true],
    ["get a secret elsewhere", { verb: "get", apiGroup: "", resource: "secrets", namespace: "other", name: "s" }, false],
  ];
  for (const [title, attrs, expected] of cases) {
    void it(`${expected ? "allows" : "denies"}: ${title}`, () => assert.equal(isAllowed(POLICY, attrs), expected));
  }

  void it("allows everything when no policy is loaded", () => {
    assert.equal(isAllowed(undefined, { verb: "delete", apiGroup: "", resource: "secrets", namespace: "x", name: "y" }), true);
  });

  void it("reports every invalid role at once, and skips bindings and service accounts", () => {
    assert.throws(
      () =>
        parseRbacDocuments([
          { kind: "ClusterRoleBinding", metadata: { name: "b" } },
          { kind: "Role", metadata: { name: "no-namespace" }, rules: [] },
          { kind: "ClusterRole", metadata: { name: "no-verbs" }, rules: [{ apiGroups: [""], resources: ["x"], verbs: [] }] },
        ]),
      (error: unknown) => error instanceof Error && /document 1: Role "no-namespace" needs metadata.namespace/.test(error.message) && /document 2: rules\.0\.verbs/.test(error.message),
    );
  });
});

void describe("RBAC enforcement on the API test server", () => {
  let server: KubeApiServerHandle;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rbac-test-"));
    const yaml = [
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: ClusterRole",
      "metadata: { name: turnout }",
      "rules:",
      "- apiGroups: [networking.k8s.io]",
      "  resources: [ingresses]",
      "  verbs: [list, watch]",
      "- apiGroups: [networking.k8s.io]",
      "  resources: [ingresses/status]",
      "  verbs: [patch]",
      "---",
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: ClusterRoleBinding",
      "metadata: { name: turnout }",
      "roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: turnout }",
      "subjects: [{ kind: ServiceAccount, name: turnout, namespace: turnout }]",
      "",
    ].join("\n");
    await writeFile(join(dir, "rbac.yaml"), yaml);
    server = await startKubeApiServer({ rbacFile: join(dir, "rbac.yaml") });
  });

  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it("enforces a policy file with 403 Forbidden Status objects and records what was used", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    const api = kc.makeApiClient(NetworkingV1Api);
    const informer = makeInformer(kc, "/apis/networking.k8s.io/v1/ingresses", () => api.listIngressForAllNamespaces({}));
    const errors: unknown[] = [];
    informer.on("error", (error) => errors.push(error));
    await informer.start();
    await informer.stop();
    assert.deepEqual(errors, []);

    const denied = await server.client.create({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "x", namespace: "default" } }).catch((e: unknown) => e);
    assert.ok(denied instanceof KubeApiError);
    assert.equal(denied.code, 403);
    assert.deepEqual((denied.status as { reason?: string; message?: string }).message, 'ingresses.networking.k8s.io is forbidden: User "turnout-test" cannot create resource "ingresses" in API group "networking.k8s.io" in the namespace "default"');
    const statusPatch = await server.client.raw("PATCH", "/apis/networking.k8s.io/v1/namespaces/default/ingresses/x/status", { status: {} }, "application/merge-patch+json");
    assert.equal(statusPatch.status, 404, "allowed by RBAC, then not found");

    const used = (await server.client.requests()).map((r) => `${r.verb} ${r.resource}${r.subresource === undefined ? "" : `/${r.subresource}`} ${r.namespace ?? "*"} ${r.allowed} ${r.code}`);
    assert.deepEqual(used, ["list ingresses * true 200", "watch ingresses * true 200", "create ingresses default false 403", "patch ingresses/status default true 404"]);
  });

  void it("replaces the policy through the control API, and turns RBAC off with null", async () => {
    const ref = { apiVersion: "v1", kind: "Secret", namespace: "team", name: "s" };
    await server.client.setRbacPolicy([{ kind: "Role", metadata: { name: "r", namespace: "team" }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] }]);
    assert.equal((await server.client.get(ref).catch((e: unknown) => e) as KubeApiError).code, 404);
    assert.equal((await server.client.raw("GET", "/api/v1/namespaces/other/secrets/s")).status, 403);
    await server.client.setRbacPolicy(null);
    assert.equal((await server.client.raw("GET", "/api/v1/namespaces/other/secrets/s")).status, 404);
    const invalid = await server.client.raw("POST", "/_test/rbac", { policy: [{ kind: "Role", metadata: { name: "r" }, rules: [] }] });
    assert.equal(invalid.status, 400);
  });
});

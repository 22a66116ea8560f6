// REST semantics of the API test server as a client sees them: authentication, metadata,
// optimistic concurrency, status subresource, selectors, patches, errors and fault injection.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiException, CoreV1Api, KubeConfig, NetworkingV1Api, type V1Ingress } from "@kubernetes/client-node";
import { KubeApiError, startKubeApiServer, type KubeApiServerHandle, type KubeObject, type KubeTestClient } from "./harness.ts";

const ING = { apiVersion: "networking.k8s.io/v1", kind: "Ingress" } as const;

function ingress(name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return { ...ING, metadata: { name, namespace: "default" }, spec: { rules: [{ host: `${name}.example.com` }] }, ...extra };
}

function secret(name: string, type: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "default", labels }, type, data: {} };
}

async function rejection(promise: Promise<unknown>): Promise<KubeApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof KubeApiError, `expected a KubeApiError, got ${String(error)}`);
  return error;
}

void describe("Kubernetes API test server REST semantics", () => {
  let server: KubeApiServerHandle;
  let client: KubeTestClient;
  let networking: NetworkingV1Api;
  let core: CoreV1Api;

  before(async () => {
    server = await startKubeApiServer();
    client = server.client;
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    networking = kc.makeApiClient(NetworkingV1Api);
    core = kc.makeApiClient(CoreV1Api);
  });

  after(async () => {
    await server.stop();
  });

  void it("rejects requests without the kubeconfig's bearer token with a 401 Status", async () => {
    for (const token of [null, "wrong"]) {
      const response = await client.raw("GET", "/api/v1/services", undefined, undefined, token);
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
    }
  });

  void it("stamps uid, generation and an increasing resourceVersion, and keeps a given creationTimestamp", async () => {
    const first = await client.create(ingress("meta-a", { metadata: { name: "meta-a", namespace: "default", creationTimestamp: "2020-01-02T03:04:05Z" } }));
    const second = await client.create(ingress("meta-b"));
    assert.equal(first.metadata.creationTimestamp, "2020-01-02T03:04:05Z");
    assert.match(second.metadata.creationTimestamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(first.metadata.uid ?? "", /^[0-9a-f-]{36}$/);
    assert.notEqual(first.metadata.uid, second.metadata.uid);
    assert.equal(first.metadata.generation, 1);
    assert.ok(Number(second.metadata.resourceVersion) > Number(first.metadata.resourceVersion));
    const list = await networking.listNamespacedIngress({ namespace: "default" });
    assert.ok(Number(list.metadata?.resourceVersion) >= Number(second.metadata.resourceVersion));
    assert.deepEqual(list.items.find((i) => i.metadata?.name === "meta-a")?.metadata?.creationTimestamp, new Date("2020-01-02T03:04:05Z"));
  });

  void it("answers a second create with 409 AlreadyExists and a missing object with 404 NotFound", async () => {
    await client.create(ingress("dup"));
    const exists = await rejection(client.create(ingress("dup")));
    assert.deepEqual([exists.code, exists.reason], [409, "AlreadyExists"]);
    const missing = await rejection(client.get({ ...ING, namespace: "default", name: "nope" }));
    assert.deepEqual([missing.code, missing.reason], [404, "NotFound"]);
    await assert.rejects(networking.readNamespacedIngress({ namespace: "default", name: "nope" }), (e: unknown) => e instanceof ApiException && e.code === 404);
  });

  void it("refuses an update carrying a stale resourceVersion with 409 Conflict", async () => {
    const created = await client.create(ingress("occ"));
    const updated = await client.update({ ...created, spec: { rules: [{ host: "v2.example.com" }] } });
    assert.equal(updated.metadata.generation, 2);
    const stale = await rejection(client.update({ ...created, spec: { rules: [{ host: "v3.example.com" }] } }));
    assert.deepEqual([stale.code, stale.reason], [409, "Conflict"]);
    const body = { ...created, metadata: { ...created.metadata, resourceVersion: created.metadata.resourceVersion ?? "" } } as V1Ingress;
    await assert.rejects(
      networking.replaceNamespacedIngress({ namespace: "default", name: "occ", body }),
      (e: unknown) => e instanceof ApiException && e.code === 409,
    );
  });

  void it("changes only status through /status, and ignores status on the main resource", async () => {
    const status = { loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } };
    const created = await client.create(ingress("st", { status }));
    assert.equal(created.status, undefined, "create drops status, as Kubernetes does");

    const viaMain = await client.update({ ...created, status });
    assert.equal(viaMain.status, undefined);
    assert.equal(viaMain.metadata.resourceVersion, created.metadata.resourceVersion, "a write that changes nothing is a no-op");

    const viaStatus = await client.updateStatus({ ...created, spec: { rules: [] }, status });
    assert.deepEqual(viaStatus.status, status);
    assert.deepEqual(viaStatus.spec, created.spec);
    assert.equal(viaStatus.metadata.generation, 1);

    const patched = await networking.patchNamespacedIngressStatus({
      namespace: "default",
      name: "st",
      body: [{ op: "replace", path: "/status/loadBalancer/ingress/0/ip", value: "10.0.0.2" }],
    });
    assert.equal(patched.status?.loadBalancer?.ingress?.[0]?.ip, "10.0.0.2");
    const mainPatch = await client.patch(created, { status: { loadBalancer: {} }, metadata: { labels: { a: "b" } } });
    assert.deepEqual(mainPatch.status, { loadBalancer: { ingress: [{ ip: "10.0.0.2" }] } });
    assert.deepEqual(mainPatch.metadata.labels, { a: "b" });
  });

  void it("applies merge, strategic (as merge) and JSON patches, and rejects a failed JSON patch test with 422", async () => {
    await client.create(ingress("pt", { metadata: { name: "pt", namespace: "default", annotations: { keep: "1", drop: "2" } } }));
    const ref = { ...ING, namespace: "default", name: "pt" };
    const merged = await client.patch(ref, { metadata: { annotations: { drop: null, added: "3" } } });
    assert.deepEqual(merged.metadata.annotations, { keep: "1", added: "3" });
    const strategic = await client.patch(ref, { spec: { ingressClassName: "turnout" } }, { type: "strategic" });
    assert.equal((strategic.spec as { ingressClassName?: string }).ingressClassName, "turnout");
    const json = await client.patch(ref, [{ op: "remove", path: "/metadata/annotations/keep" }], { type: "json" });
    assert.deepEqual(json.metadata.annotations, { added: "3" });
    const failed = await rejection(client.patch(ref, [{ op: "test", path: "/metadata/name", value: "other" }], { type: "json" }));
    assert.equal(failed.code, 422);
    const stale = await rejection(client.patch(ref, { metadata: { resourceVersion: "1" } }));
    assert.equal(stale.reason, "Conflict");
  });

  void it("filters lists by field selector (secret type, metadata.name) and label selector", async () => {
    await client.create(secret("tls-a", "kubernetes.io/tls", { app: "web", tier: "front" }));
    await client.create(secret("opaque-b", "Opaque", { app: "web", tier: "db" }));
    await client.create(secret("tls-c", "kubernetes.io/tls", { app: "api" }));
    const tls = await core.listSecretForAllNamespaces({ fieldSelector: "type=kubernetes.io/tls" });
    assert.deepEqual(tls.items.map((s) => s.metadata?.name), ["tls-a", "tls-c"]);
    const cases: [string | undefined, string | undefined, string[]][] = [
      [undefined, "metadata.name=opaque-b", ["opaque-b"]],
      [undefined, "type!=kubernetes.io/tls", ["opaque-b"]],
      ["app=web,tier!=db", undefined, ["tls-a"]],
      ["app in (web,api),!tier", undefined, ["tls-c"]],
      ["tier", "type=kubernetes.io/tls", ["tls-a"]],
    ];
    for (const [labelSelector, fieldSelector, expected] of cases) {
      const list = await client.list("v1", "Secret", { namespace: "default", ...(labelSelector === undefined ? {} : { labelSelector }), ...(fieldSelector === undefined ? {} : { fieldSelector }) });
      assert.deepEqual(list.items.map((s) => s.metadata.name), expected, `${labelSelector} / ${fieldSelector}`);
    }
    const unsupported = await client.raw("GET", "/api/v1/secrets?fieldSelector=data.key%3Dx");
    assert.equal(unsupported.status, 400);
  });

  void it("returns typed lists whose items omit apiVersion and kind, and pages with limit/continue", async () => {
    for (const name of ["cls-1", "cls-2", "cls-3"]) {
      await networking.createIngressClass({ body: { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: { name }, spec: { controller: "turnout.dev/controller" } } });
    }
    const page1 = await client.raw("GET", "/apis/networking.k8s.io/v1/ingressclasses?limit=2");
    const body1 = page1.body as { kind: string; apiVersion: string; metadata: { continue?: string; resourceVersion: string }; items: KubeObject[] };
    assert.equal(body1.kind, "IngressClassList");
    assert.equal(body1.apiVersion, "networking.k8s.io/v1");
    assert.deepEqual(body1.items.map((i) => [i.metadata.name, i.kind, i.metadata.namespace]), [["cls-1", undefined, undefined], ["cls-2", undefined, undefined]]);
    const page2 = await client.raw("GET", `/apis/networking.k8s.io/v1/ingressclasses?limit=2&continue=${body1.metadata.continue ?? ""}`);
    const body2 = page2.body as { metadata: { continue?: string; resourceVersion: string }; items: KubeObject[] };
    assert.deepEqual(body2.items.map((i) => i.metadata.name), ["cls-3"]);
    assert.equal(body2.metadata.continue, undefined);
    assert.equal(body2.metadata.resourceVersion, body1.metadata.resourceVersion);
  });

  void it("keeps an object with finalizers until they are removed, and generates names", async () => {
    const held = await client.create(ingress("fin", { metadata: { name: "fin", namespace: "default", finalizers: ["test/hold"] } }));
    const marked = (await client.delete({ ...ING, namespace: "default", name: "fin" })) as KubeObject;
    assert.ok(marked.metadata.deletionTimestamp !== undefined);
    await client.patch(held, { metadata: { finalizers: null } });
    assert.equal(await client.tryGet({ ...ING, namespace: "default", name: "fin" }), undefined);
    const generated = await client.create<KubeObject>({ apiVersion: "v1", kind: "Event", metadata: { generateName: "ev-", namespace: "default" }, reason: "Test" });
    assert.match(generated.metadata.name ?? "", /^ev-[a-z0-9]{5}$/);
  });

  void it("fails the next matching requests with an injected status, then serves normally", async () => {
    await client.failNext(2, 503, { verb: "list", resource: "services" });
    await client.failNext(1, 500, { method: "GET", pathPrefix: "/api/v1/namespaces/default/secrets" });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await client.raw("GET", "/api/v1/namespaces/default/services")).status);
    assert.deepEqual(statuses, [503, 503, 200]);
    const failed = await rejection(client.get({ apiVersion: "v1", kind: "Secret", namespace: "default", name: "any" }));
    assert.deepEqual([failed.code, failed.reason], [500, "InternalError"]);
    assert.equal((await client.state()).pendingFailures, 0);
  });

  void it("holds the next matching requests for an injected delay before serving them, then serves at once", async () => {
    const created = await client.create(ingress("slow"));
    const status = (ip: string): unknown => ({ status: { loadBalancer: { ingress: [{ ip }] } } });
    await client.delayNext(1, 300, { verb: "patch", resource: "ingresses" });
    assert.equal((await client.state()).pendingDelays, 1);
    const startedAt = performance.now();
    const held = client.patch(created, status("10.0.0.1"), { subresource: "status" }).then(() => performance.now() - startedAt);
    // A request the rule does not match passes the held one, and the held write has not happened yet.
    const meanwhile = await client.get(created);
    assert.equal(meanwhile.status, undefined);
    // A little under 300: the server's timer may fire a fraction of a millisecond early.
    assert.ok((await held) >= 290, "the matching PATCH was held for the delay");
    assert.deepEqual((await client.get(created)).status, { loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } });
    assert.equal((await client.state()).pendingDelays, 0);
    const nextStartedAt = performance.now();
    await client.patch(created, status("10.0.0.2"), { subresource: "status" });
    assert.ok(performance.now() - nextStartedAt < 300, "only the next `count` matching requests are held");

    // With a failure for the same request, the failure comes after the delay.
    await client.delayNext(1, 200, { verb: "list", resource: "services" });
    await client.failNext(1, 503, { verb: "list", resource: "services" });
    const failStartedAt = performance.now();
    assert.equal((await client.raw("GET", "/api/v1/namespaces/default/services")).status, 503);
    assert.ok(performance.now() - failStartedAt >= 190);
    await client.delayNext(5, 10_000, { verb: "list" });
    await client.clearDelays();
    assert.equal((await client.state()).pendingDelays, 0);
    const clearedStartedAt = performance.now();
    assert.equal((await client.raw("GET", "/api/v1/namespaces/default/services")).status, 200);
    assert.ok(performance.now() - clearedStartedAt < 1000, "cleared delays hold nothing");
  });

  void it("serves minimal discovery documents and 404s unknown resources", async () => {
    const apis = (await client.raw("GET", "/apis")).body as { groups: { name: string }[] };
    assert.ok(apis.groups.some((g) => g.name === "networking.k8s.io"));
    const v1 = (await client.raw("GET", "/apis/networking.k8s.io/v1")).body as { resources: { name: string }[] };
    assert.deepEqual(v1.resources.map((r) => r.name), ["ingresses", "ingresses/status", "ingressclasses"]);
    assert.equal((await client.raw("GET", "/apis/networking.k8s.io/v1/namespaces/default/widgets")).status, 404);
    assert.equal((await client.raw("GET", "/apis/networking.k8s.io/v1/ingressclasses/x/status")).status, 404);
  });
});

// Cluster mode end to end: the real turnout process watches the Kubernetes API
// test server through @kubernetes/client-node and routes real requests to echo
// upstreams on 127.0.0.x, following every change without a restart.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, answeredBy } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

let api: KubeApiServerHandle;
let upstreams: EchoUpstream[];
let turnout: TurnoutProcess;
let port: number;

async function upstreamOf(host: string, path: string, headers: Record<string, string> = {}): Promise<string> {
  return answeredBy(await turnout.request(host, path, { headers }));
}

async function eventually(host: string, path: string, expected: string, timeoutMs = 3000): Promise<void> {
  let last = "";
  await turnout.waitUntil(async () => (last = await upstreamOf(host, path)) === expected, timeoutMs, `${host}${path} -> ${expected} (last: ${last})`);
}

before(async () => {
  api = await startKubeApiServer();
  upstreams = await startEchoFleet(["a1", "a2", "b1", "c1"], ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]);
  port = upstreams[0]!.port;
  const k = api.client;
  await k.apply(ingressClass());
  for (const name of ["svc-a", "svc-b", "svc-c"]) await k.apply(service(name));
  await k.apply(endpointSlice("svc-a-1", "svc-a", port, [{ ip: "127.0.0.2" }]));
  await k.apply(endpointSlice("svc-b-1", "svc-b", port, [{ ip: "127.0.0.4" }]));
  await k.apply(endpointSlice("svc-c-1", "svc-c", port, [{ ip: "127.0.0.5" }]));
  await k.apply(
    ingress({
      name: "main",
      host: "shop.test",
      creationTimestamp: "2026-01-01T00:00:00Z",
      paths: [
        { path: "/", service: "svc-a", port: 80 },
        { path: "/api", service: "svc-b", port: "http" },
        { path: "/api/exact", pathType: "Exact", service: "svc-c", port: 80 },
      ],
    }),
  );
  await k.apply(ingress({ name: "wild", host: "*.wild.test", paths: [{ path: "/", service: "svc-c", port: 80 }] }));
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--publish-status-address", "192.0.2.10"] });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((upstreams ?? []).map((u) => u.close()));
  await api?.stop();
});

describe("routing from watched Ingresses", () => {
  const cases: [string, string, string][] = [
    ["shop.test", "/", "a1"],
    ["shop.test", "/catalog", "a1"],
    ["shop.test", "/api", "b1"],
    ["shop.test", "/api/users", "b1"],
    ["shop.test", "/apix", "a1"],
    ["shop.test", "/api/exact", "c1"],
    ["shop.test", "/api/exact/more", "b1"],
    ["x.wild.test", "/", "c1"],
    ["wild.test", "/", "status 404"],
    ["a.b.wild.test", "/", "status 404"],
  ];
  for (const [host, path, expected] of cases) {
    test(`${host}${path} -> ${expected}`, async () => {
      assert.equal(await upstreamOf(host, path), expected);
    });
  }

  test("forwards Host and X-Forwarded-* headers", async () => {
    const res = await turnout.request("shop.test", "/headers", { headers: { "x-forwarded-for": "203.0.113.9" } });
    const echoed = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(echoed.headers.host, "shop.test");
    assert.equal(echoed.headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert.equal(echoed.headers["x-forwarded-proto"], "http");
    assert.equal(echoed.headers["x-forwarded-host"], "shop.test");
    // The port the client addressed: the scheme's default when the Host names none.
    assert.equal(echoed.headers["x-forwarded-port"], "80");
    assert.equal(echoed.headers["x-real-ip"], "127.0.0.1");
  });
});

describe("changes are followed without restart", () => {
  test("scaling a Service up and down changes endpoints without rebuilding routes", async () => {
    const generation = (await turnout.debugRoutes()).generation;
    await api.client.apply(endpointSlice("svc-a-1", "svc-a", port, [{ ip: "127.0.0.2" }, { ip: "127.0.0.3" }]));
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/svc-a:80"]?.length === 2, 3000, "two endpoints");
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await upstreamOf("shop.test", "/"));
    assert.deepEqual([...seen].sort(), ["a1", "a2"]);
    await api.client.apply(endpointSlice("svc-a-1", "svc-a", port, [{ ip: "127.0.0.3" }]));
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/svc-a:80"]?.length === 1, 3000, "one endpoint");
    for (let i = 0; i < 5; i++) assert.equal(await upstreamOf("shop.test", "/"), "a2");
    assert.equal((await turnout.debugRoutes()).generation, generation, "endpoint changes must not republish the route table");
  });

  test("not-ready endpoints take no traffic; no ready endpoint means 503", async () => {
    await api.client.apply(endpointSlice("svc-b-1", "svc-b", port, [{ ip: "127.0.0.4", ready: false, serving: false }]));
    await turnout.waitUntil(async () => (await turnout.request("shop.test", "/api")).status === 503, 3000, "503");
    const res = await turnout.request("shop.test", "/api");
    assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_NO_ENDPOINTS");
    await api.client.apply(endpointSlice("svc-b-1", "svc-b", port, [{ ip: "127.0.0.4" }]));
    await eventually("shop.test", "/api", "b1");
  });

  test("Ingress create, update and delete", async () => {
    await api.client.apply(ingress({ name: "blog", host: "blog.test", paths: [{ path: "/", service: "svc-b", port: 80 }] }));
    await eventually("blog.test", "/", "b1");
    await api.client.apply(ingress({ name: "blog", host: "blog.test", paths: [{ path: "/", service: "svc-c", port: 80 }] }));
    await eventually("blog.test", "/", "c1");
    await api.client.delete({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name: "blog" });
    await eventually("blog.test", "/", "status 404");
  });

  test("a Service port change re-resolves backends", async () => {
    await api.client.apply(ingress({ name: "named", host: "named.test", paths: [{ path: "/", service: "svc-c", port: "web" }] }));
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).diagnostics.some((d) => d.ref.name === "named" && d.reason === "ServicePortNotFound"), 3000, "diagnostic");
    assert.equal(await upstreamOf("named.test", "/"), "status 404");
    await api.client.apply(service("svc-c", "default", [{ name: "http", port: 80 }, { name: "web", port: 8080 }]));
    await api.client.apply({ ...endpointSlice("svc-c-1", "svc-c", port, [{ ip: "127.0.0.5" }]), ports: [{ name: "http", port, protocol: "TCP" }, { name: "web", port, protocol: "TCP" }] });
    await eventually("named.test", "/", "c1");
  });
});

describe("IngressClass selection", () => {
  test("Ingresses of another class, or without class while we are not default, are ignored", async () => {
    await api.client.apply({ ...ingressClass("other"), spec: { controller: "example.com/other" } });
    await api.client.apply(ingress({ name: "theirs", host: "theirs.test", className: "other", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await api.client.apply(ingress({ name: "classless", host: "classless.test", className: null, paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await api.client.apply(
      ingress({ name: "legacy", host: "legacy.test", className: null, annotations: { "kubernetes.io/ingress.class": "turnout" }, paths: [{ path: "/", service: "svc-b", port: 80 }] }),
    );
    await eventually("legacy.test", "/", "b1");
    assert.equal(await upstreamOf("theirs.test", "/"), "status 404");
    assert.equal(await upstreamOf("classless.test", "/"), "status 404");
  });

  test("marking our IngressClass default adopts Ingresses without class", async () => {
    await api.client.apply(ingressClass("turnout", true));
    await eventually("classless.test", "/", "a2");
    await api.client.apply(ingressClass("turnout", false));
    await eventually("classless.test", "/", "status 404");
  });
});

describe("status and events", () => {
  test("our Ingresses get the published address; it is cleared when one stops being ours", async () => {
    const read = async (name: string): Promise<unknown> =>
      ((await api.client.get({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name })) as { status?: { loadBalancer?: { ingress?: unknown } } }).status?.loadBalancer?.ingress;
    await turnout.waitUntil(async () => JSON.stringify(await read("main")) === JSON.stringify([{ ip: "192.0.2.10" }]), 3000, "status written");
    assert.equal(await read("theirs"), undefined, "another controller's Ingress is left alone");
    await api.client.apply(ingress({ name: "leaving", host: "leaving.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await turnout.waitUntil(async () => JSON.stringify(await read("leaving")) === JSON.stringify([{ ip: "192.0.2.10" }]), 3000, "status written");
    await api.client.apply(ingress({ name: "leaving", host: "leaving.test", className: "other", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await turnout.waitUntil(async () => JSON.stringify(await read("leaving")) === "[]", 3000, "status cleared");
  });

  test("a status write the API server refuses is retried until it succeeds", async () => {
    const read = async (): Promise<unknown> =>
      ((await api.client.get({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name: "retried" })) as { status?: { loadBalancer?: { ingress?: unknown } } }).status?.loadBalancer?.ingress;
    await api.client.failNext(2, 500, { method: "PATCH", pathPrefix: "/apis/networking.k8s.io/v1/namespaces/default/ingresses/retried/status" });
    await api.client.apply(ingress({ name: "retried", host: "retried.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await turnout.waitForLog((line) => line.msg.startsWith("could not update ingress status") && line.ref === "default/retried", 5000);
    // Retries back off 1 s, then 2 s; nothing else changes meanwhile that would trigger a write.
    await turnout.waitUntil(async () => JSON.stringify(await read()) === JSON.stringify([{ ip: "192.0.2.10" }]), 10_000, "status written after the failures");
  });

  test("a broken backend reference becomes a Warning Event on the Ingress, once", async () => {
    await api.client.apply(ingress({ name: "broken", host: "broken.test", paths: [{ path: "/", service: "missing", port: 80 }, { path: "/ok", service: "svc-b", port: 80 }] }));
    await eventually("broken.test", "/ok", "b1");
    const events = async (): Promise<{ reason?: string; type?: string; message?: string }[]> =>
      ((await api.client.list("v1", "Event", { namespace: "default" })).items as { involvedObject?: { name?: string }; reason?: string; type?: string; message?: string }[]).filter(
        (e) => e.involvedObject?.name === "broken",
      );
    await turnout.waitUntil(async () => (await events()).some((e) => e.reason === "ServiceNotFound"), 3000, "event");
    const [event] = (await events()).filter((e) => e.reason === "ServiceNotFound");
    assert.equal(event?.type, "Warning");
    assert.match(event?.message ?? "", /missing/);
    // Unrelated rebuilds must not repeat the same event.
    await api.client.apply(ingress({ name: "noise", host: "noise.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await eventually("noise.test", "/", "a2");
    assert.equal((await events()).filter((e) => e.reason === "ServiceNotFound").length, 1);
  });
});

describe("API-server faults", () => {
  test("dropped watches resume and keep following changes", async () => {
    await api.client.dropWatches("destroy");
    await api.client.apply(ingress({ name: "after-drop", host: "after-drop.test", paths: [{ path: "/", service: "svc-b", port: 80 }] }));
    await eventually("after-drop.test", "/", "b1", 8000);
  });

  test("410 Gone after compaction makes the informers re-list", async () => {
    await api.client.compact({ dropWatches: true, mode: "destroy" });
    await api.client.apply(ingress({ name: "after-compact", host: "after-compact.test", paths: [{ path: "/", service: "svc-c", port: 80 }] }));
    await eventually("after-compact.test", "/", "c1", 8000);
  });

  test("an informer stopped by a server error is restarted with backoff, serving the last table meanwhile", async () => {
    await api.client.failNext(3, 500, { resource: "ingresses.networking.k8s.io", verb: "watch" });
    await api.client.dropWatches("destroy");
    assert.equal(await upstreamOf("shop.test", "/api"), "b1", "keeps serving while the watch is down");
    await turnout.waitForLog((l) => l.msg.includes("restarting with backoff") && l.resource === "ingresses", 8000);
    await api.client.apply(ingress({ name: "after-error", host: "after-error.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await eventually("after-error.test", "/", "a2", 15000);
  });
});

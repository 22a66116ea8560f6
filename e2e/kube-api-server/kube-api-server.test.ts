// The API test server speaks list/watch as client-node 2.x expects: a real informer lists,
// follows writes, resumes after dropped watches, re-lists after 410, and reports errors.

import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { KubeConfig, makeInformer, NetworkingV1Api, Watch, type Informer, type V1Ingress } from "@kubernetes/client-node";
import { startKubeApiServer, type KubeApiServerHandle } from "./harness.ts";

const INGRESSES = "/apis/networking.k8s.io/v1/ingresses";

function ingress(name: string, labels: Record<string, string> = {}): V1Ingress {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "default", labels },
    spec: { rules: [{ host: `${name}.example.com` }] },
  };
}

/** Polls until `check` holds; the bound only keeps a broken test from hanging. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Recorder {
  informer: Informer<V1Ingress> & { stop(): Promise<void> };
  events: string[];
  errors: unknown[];
  lists: () => number;
}

function recordIngressInformer(kc: KubeConfig): Recorder {
  const api = kc.makeApiClient(NetworkingV1Api);
  let lists = 0;
  const informer = makeInformer<V1Ingress>(kc, INGRESSES, () => {
    lists++;
    return api.listIngressForAllNamespaces({});
  });
  const events: string[] = [];
  const errors: unknown[] = [];
  informer.on("add", (obj) => events.push(`add ${obj.metadata?.name}`));
  informer.on("update", (obj) => events.push(`update ${obj.metadata?.name}`));
  informer.on("delete", (obj) => events.push(`delete ${obj.metadata?.name}`));
  informer.on("error", (error) => errors.push(error));
  return { informer, events, errors, lists: () => lists };
}

void describe("Kubernetes API test server with client-node informers", () => {
  let server: KubeApiServerHandle;
  let kc: KubeConfig;
  let api: NetworkingV1Api;
  const informers: Recorder[] = [];

  before(async () => {
    server = await startKubeApiServer({ bookmarkIntervalMs: 100 });
    kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    api = kc.makeApiClient(NetworkingV1Api);
  });

  after(async () => {
    await Promise.all(informers.map((r) => r.informer.stop()));
    await server.stop();
  });

  beforeEach(async () => {
    await Promise.all(informers.splice(0).map((r) => r.informer.stop()));
    await server.client.resumeWatches();
    const existing = await server.client.list("networking.k8s.io/v1", "Ingress");
    for (const item of existing.items) await server.client.delete({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name: item.metadata.name ?? "" });
  });

  async function startInformer(): Promise<Recorder> {
    const recorder = recordIngressInformer(kc);
    informers.push(recorder);
    await recorder.informer.start();
    await eventually(async () => (await server.client.state()).openWatches > 0, "the informer's watch to open");
    return recorder;
  }

  void it("lists existing objects, then streams adds, updates and deletes in order", async () => {
    await api.createNamespacedIngress({ namespace: "default", body: ingress("a") });
    const { events } = await startInformer();
    assert.deepEqual(events, ["add a"]);

    await api.createNamespacedIngress({ namespace: "default", body: ingress("b") });
    await api.patchNamespacedIngress({ namespace: "default", name: "a", body: [{ op: "replace", path: "/spec/rules/0/host", value: "new.example.com" }] });
    await api.deleteNamespacedIngress({ namespace: "default", name: "b" });
    await eventually(() => events.length === 4, "four events");
    assert.deepEqual(events, ["add a", "add b", "update a", "delete b"]);
  });

  void it("resumes from the last resourceVersion after dropped watches, without a re-list or duplicate adds", async () => {
    await api.createNamespacedIngress({ namespace: "default", body: ingress("a") });
    const recorder = await startInformer();
    // The write's event is held back, then lost with the dropped stream: only a watch resumed
    // from the informer's last RV can deliver it again.
    const whileDisconnected = async (write: () => Promise<unknown>): Promise<void> => {
      await server.client.pauseWatches();
      await write();
      assert.equal(await server.client.dropWatches(), 1);
      await eventually(async () => (await server.client.state()).openWatches === 1, "the watch to reopen");
      await server.client.resumeWatches();
    };
    await whileDisconnected(() => api.createNamespacedIngress({ namespace: "default", body: ingress("c") }));
    await eventually(() => recorder.events.includes("add c"), "the lost add");
    await whileDisconnected(() => api.deleteNamespacedIngress({ namespace: "default", name: "c" }));
    await eventually(() => recorder.events.includes("delete c"), "the lost delete");

    assert.deepEqual(recorder.events, ["add a", "add c", "delete c"]);
    assert.equal(recorder.lists(), 1);
    assert.deepEqual(recorder.errors, []);
  });

  void it("re-lists after the history is compacted (410 Expired) and reports objects deleted meanwhile", async () => {
    await api.createNamespacedIngress({ namespace: "default", body: ingress("a") });
    await api.createNamespacedIngress({ namespace: "default", body: ingress("b") });
    const recorder = await startInformer();
    // Held back, then lost with the dropped watch: only the re-list can reveal the delete.
    await server.client.pauseWatches();
    await api.deleteNamespacedIngress({ namespace: "default", name: "a" });
    await server.client.compact({ dropWatches: true });
    await server.client.resumeWatches();

    await eventually(() => recorder.events.includes("delete a"), "the delete found by the re-list");
    assert.equal(recorder.lists(), 2);
    assert.deepEqual(recorder.events, ["add a", "add b", "delete a"]);
    assert.deepEqual(recorder.errors, []);
  });

  void it("stops the informer with an error when a watch request fails", async () => {
    const recorder = await startInformer();
    await server.client.failNext(1, 500, { verb: "watch", resource: "ingresses.networking.k8s.io" });
    await server.client.dropWatches();
    await eventually(() => recorder.errors.length === 1, "the informer error");
    assert.equal((recorder.errors[0] as { statusCode?: number }).statusCode, 500);
    assert.equal((await server.client.state()).openWatches, 0);
  });

  void it("stops the informer with an error when a watch connection breaks (client-node does not retry it)", async () => {
    const recorder = await startInformer();
    assert.equal(await server.client.dropWatches("destroy"), 1);
    await eventually(() => recorder.errors.length === 1, "the informer error");
    assert.equal(recorder.lists(), 1);
    assert.equal((await server.client.state()).openWatches, 0);
  });

  void it("sends bookmarks with the current resourceVersion to watches that allow them", async () => {
    const created = await api.createNamespacedIngress({ namespace: "default", body: ingress("a") });
    const seen: { type: string; rv: string | undefined; keys: string[] }[] = [];
    const controller = await new Watch(kc).watch(
      INGRESSES,
      { allowWatchBookmarks: true, resourceVersion: created.metadata?.resourceVersion },
      (type: string, obj: { metadata?: { resourceVersion?: string } }) => seen.push({ type, rv: obj.metadata?.resourceVersion, keys: Object.keys(obj).sort() }),
      () => undefined,
    );
    try {
      await eventually(() => seen.some((e) => e.type === "BOOKMARK"), "a bookmark");
    } finally {
      controller.abort();
    }
    const bookmark = seen.find((e) => e.type === "BOOKMARK");
    assert.deepEqual(bookmark, { type: "BOOKMARK", rv: created.metadata?.resourceVersion, keys: ["apiVersion", "kind", "metadata"] });
  });

  void it("answers a watch from a compacted resourceVersion with an Expired ERROR event and ends it", async () => {
    const created = await api.createNamespacedIngress({ namespace: "default", body: ingress("a") });
    await server.client.compact();
    const events: { type: string; obj: unknown }[] = [];
    const done = new Promise<unknown>((resolve) => {
      void new Watch(kc).watch(INGRESSES, { resourceVersion: created.metadata?.resourceVersion }, (type: string, obj: unknown) => events.push({ type, obj }), resolve);
    });
    assert.equal(await done, null);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, "ERROR");
    assert.deepEqual(
      { ...(events[0]?.obj as Record<string, unknown>), message: undefined },
      { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason: "Expired", code: 410, message: undefined },
    );
  });

  void it("turns label changes into ADDED and DELETED events for a watch with a label selector", async () => {
    const created = await api.createNamespacedIngress({ namespace: "default", body: ingress("a", { team: "x" }) });
    const events: string[] = [];
    const controller = await new Watch(kc).watch(
      INGRESSES,
      { labelSelector: "team=y", resourceVersion: created.metadata?.resourceVersion },
      (type: string, obj: V1Ingress) => events.push(`${type} ${JSON.stringify(obj.metadata?.labels)}`),
      () => undefined,
    );
    try {
      const ref = { namespace: "default", name: "a" };
      await api.patchNamespacedIngress({ ...ref, body: [{ op: "replace", path: "/metadata/labels/team", value: "y" }] });
      await api.patchNamespacedIngress({ ...ref, body: [{ op: "add", path: "/metadata/labels/extra", value: "1" }] });
      await api.patchNamespacedIngress({ ...ref, body: [{ op: "replace", path: "/metadata/labels/team", value: "z" }] });
      await eventually(() => events.length === 3, "three watch events");
    } finally {
      controller.abort();
    }
    assert.deepEqual(events, ['ADDED {"team":"y"}', 'MODIFIED {"team":"y","extra":"1"}', 'DELETED {"team":"z","extra":"1"}']);
  });
});

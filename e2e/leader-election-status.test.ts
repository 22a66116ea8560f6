// Leader election meets a status pass: a leader that loses its Lease while rewriting the
// status of many Ingresses stops at once, mid-pass, instead of finishing the pass as a
// follower. The API test server holds every status PATCH for a while, so the pass is
// long enough to take the Lease away in the middle of it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, isStatusWriteLog } from "./support/turnout-process.ts";
import { ingress, ingressClass, service } from "./support/objects.ts";
import type { Manifest } from "./support/objects.ts";

const ELECTION_ID = "turnout-e2e-status-pass";
// Renewed every 300 ms, so a lost Lease is noticed within a few hundred ms.
const TIMINGS = "lease=2s,renew=1500ms,retry=300ms";
const INGRESSES = 30;
const PATCH_DELAY_MS = 150;
const OLD_ADDRESS = "192.0.2.10";
const NEW_ADDRESS = "192.0.2.20";
const PUBLISH_SERVICE = { apiVersion: "v1", kind: "Service", namespace: "default", name: "turnout-lb" };
const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "default", name: ELECTION_ID };
/** How long the stopped pass is watched for further writes: long enough for many more held PATCHes. */
const QUIET_WINDOW_MS = 2000;

let api: KubeApiServerHandle;
let turnout: TurnoutProcess;

function loadBalancerStatus(ip: string): { status: { loadBalancer: { ingress: { ip: string }[] } } } {
  return { status: { loadBalancer: { ingress: [{ ip }] } } };
}

function publishService(ip: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: PUBLISH_SERVICE.name, namespace: PUBLISH_SERVICE.namespace },
    spec: { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    ...loadBalancerStatus(ip),
  };
}

const ingressListSchema = z.array(
  z.object({
    metadata: z.object({ name: z.string() }),
    status: z.object({ loadBalancer: z.object({ ingress: z.array(z.object({ ip: z.string() })).default([]) }).default({ ingress: [] }) }).default({ loadBalancer: { ingress: [] } }),
  }),
);

/** Ingress name -> the addresses its status carries, as stored on the API server. */
async function statusByIngress(): Promise<Map<string, string>> {
  const { items } = await api.client.list("networking.k8s.io/v1", "Ingress", { namespace: "default" });
  return new Map(ingressListSchema.parse(items).map((i) => [i.metadata.name, i.status.loadBalancer.ingress.map((e) => e.ip).join(",")]));
}

async function countWithAddress(address: string): Promise<number> {
  return [...(await statusByIngress()).values()].filter((a) => a === address).length;
}

async function statusPatchRequests(): Promise<number> {
  return (await api.client.requests()).filter((r) => r.verb === "patch" && r.resource === "ingresses" && r.subresource === "status").length;
}

before(async () => {
  api = await startKubeApiServer();
  const k = api.client;
  await k.apply(ingressClass());
  await k.apply(service("svc-web"));
  await k.apply(publishService(OLD_ADDRESS));
  for (let i = 0; i < INGRESSES; i++) {
    await k.apply(ingress({ name: `app-${i}`, host: `app-${i}.test`, paths: [{ path: "/", service: "svc-web", port: 80 }] }));
  }
  turnout = await TurnoutProcess.start({
    kubeconfig: api.kubeconfigPath,
    args: ["--publish-service", `${PUBLISH_SERVICE.namespace}/${PUBLISH_SERVICE.name}`, "--election-id", ELECTION_ID],
    env: { POD_NAME: "turnout-0", POD_NAMESPACE: "default", TURNOUT_ELECTION_TIMINGS: TIMINGS },
  });
});

after(async () => {
  await turnout?.stop();
  await api?.stop();
});

void describe("a leader that loses its Lease during a status pass", () => {
  void test("stops writing Ingress status at once; the rest keep the old address", async () => {
    const t = turnout;
    await t.waitUntil(async () => (await countWithAddress(OLD_ADDRESS)) === INGRESSES, 10_000, `all ${INGRESSES} Ingresses carrying ${OLD_ADDRESS}`);

    await api.client.delayNext(INGRESSES, PATCH_DELAY_MS, { verb: "patch", resource: "ingresses" });
    await api.client.patch(PUBLISH_SERVICE, loadBalancerStatus(NEW_ADDRESS), { subresource: "status" });
    await t.waitUntil(async () => (await countWithAddress(NEW_ADDRESS)) >= 3, 5000, `a few Ingresses carrying ${NEW_ADDRESS}`);

    // Another holder with a fresh renewal and an hour-long lease: turnout must follow it for the rest of the test.
    const now = new Date().toISOString();
    await api.client.patch(LEASE, { spec: { holderIdentity: "intruder", acquireTime: now, renewTime: now, leaseDurationSeconds: 3600 } });
    const stopped = await t.waitForLog((l) => l.msg === "stopped leading", 3000);
    assert.equal(stopped.reason, "another replica holds the lease");
    const stoppedAt = t.logs.indexOf(stopped);
    const writtenBeforeStop = await countWithAddress(NEW_ADDRESS);
    const patchesBeforeStop = await statusPatchRequests();
    assert.ok(writtenBeforeStop < INGRESSES - 5, `the pass was nearly over (${writtenBeforeStop} written) before turnout noticed; the test proves nothing`);

    // Asserting that nothing happens: only waiting a while can show it.
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));

    const writesAfterStop = t.logs.slice(stoppedAt + 1).filter(isStatusWriteLog);
    assert.ok(writesAfterStop.length <= 1, `status writes after stepping down (only the one in flight may finish):\n${writesAfterStop.map((l) => JSON.stringify(l)).join("\n")}`);
    const statuses = await statusByIngress();
    const updated = [...statuses.values()].filter((a) => a === NEW_ADDRESS).length;
    assert.ok(updated <= writtenBeforeStop + 1, `${updated} Ingresses carry ${NEW_ADDRESS}; ${writtenBeforeStop} did when turnout stepped down`);
    assert.equal(updated + [...statuses.values()].filter((a) => a === OLD_ADDRESS).length, INGRESSES, "every other Ingress keeps the old address");
    // Counted on arrival, so the PATCH in flight at the step-down may or may not be in patchesBeforeStop.
    const patchesAfterStop = (await statusPatchRequests()) - patchesBeforeStop;
    assert.ok(patchesAfterStop <= 1, `the API server got ${patchesAfterStop} status PATCHes after turnout stepped down`);
    const { spec } = z.object({ spec: z.object({ holderIdentity: z.string() }) }).parse(await api.client.get(LEASE));
    assert.equal(spec.holderIdentity, "intruder", "turnout did not take the Lease back");
  });
});

// Leader election end to end: two real turnout processes share one Lease on the API
// test server. Each publishes a different status address, so the Ingress status tells
// which one wrote: only the Lease holder may. Both serve traffic. The follower takes
// over at once when the leader stops (SIGTERM releases the Lease) and after expiry
// when the leader is killed (SIGKILL releases nothing).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, isStatusWriteLog } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

type Name = "a" | "b";
const ADDRESS: Record<Name, string> = { a: "192.0.2.1", b: "192.0.2.2" };
const ELECTION_ID = "turnout-e2e-leader";
// Short timings so expiry fits the test: a 2 s lease, renewed every 300 ms.
const TIMINGS = "lease=2s,renew=1500ms,retry=300ms";
const LEASE_MS = 2000;
const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "default", name: ELECTION_ID };
const INGRESS = { apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name: "main" };

let api: KubeApiServerHandle;
let upstreams: EchoUpstream[] = [];
const replicas = new Map<Name, TurnoutProcess>();
/** Every process started, so after() stops them all even when a test failed halfway. */
const started: TurnoutProcess[] = [];

function other(name: Name): Name {
  return name === "a" ? "b" : "a";
}

function replica(name: Name): TurnoutProcess {
  const process = replicas.get(name);
  if (!process) throw new Error(`replica ${name} is not running`);
  return process;
}

async function startReplica(name: Name): Promise<TurnoutProcess> {
  if (replicas.has(name)) throw new Error(`replica ${name} is already running`);
  const process = await TurnoutProcess.start({
    kubeconfig: api.kubeconfigPath,
    args: ["--publish-status-address", ADDRESS[name], "--election-id", ELECTION_ID],
    env: { POD_NAME: name, POD_NAMESPACE: "default", TURNOUT_ELECTION_TIMINGS: TIMINGS },
  });
  started.push(process);
  replicas.set(name, process);
  return process;
}

interface LeaseView {
  holder: string;
  transitions: number;
}

const leaseSchema = z.object({ spec: z.object({ holderIdentity: z.string().default(""), leaseTransitions: z.number().default(0) }).default({ holderIdentity: "", leaseTransitions: 0 }) });
const ingressStatusSchema = z.object({ status: z.object({ loadBalancer: z.object({ ingress: z.array(z.object({ ip: z.string() })).default([]) }).default({ ingress: [] }) }).default({ loadBalancer: { ingress: [] } }) });

async function lease(): Promise<LeaseView | undefined> {
  const found = await api.client.tryGet(LEASE);
  if (!found) return undefined;
  const { spec } = leaseSchema.parse(found);
  return { holder: spec.holderIdentity, transitions: spec.leaseTransitions };
}

async function holder(): Promise<string> {
  return (await lease())?.holder ?? "";
}

async function statusAddresses(): Promise<string> {
  const { status } = ingressStatusSchema.parse(await api.client.get(INGRESS));
  return status.loadBalancer.ingress.map((entry) => entry.ip).join(",");
}

/** Status writes a replica attempted, failed ones included. */
function statusWrites(process: TurnoutProcess): number {
  return process.logs.filter(isStatusWriteLog).length;
}

async function statusPatchRequests(): Promise<number> {
  return (await api.client.requests()).filter((r) => r.verb === "patch" && r.resource === "ingresses" && r.subresource === "status").length;
}

/** Waits until the Lease names one of the replicas and returns that name. */
async function electedLeader(watcher: TurnoutProcess, timeoutMs: number): Promise<Name> {
  let found = "";
  await watcher.waitUntil(async () => (found = await holder()) === "a" || found === "b", timeoutMs, `a Lease holder (last: "${found}")`);
  return found as Name;
}

before(async () => {
  api = await startKubeApiServer();
  upstreams = await startEchoFleet(["web"], ["127.0.0.2"]);
  const k = api.client;
  await k.apply(ingressClass());
  await k.apply(service("svc-web"));
  await k.apply(endpointSlice("svc-web-1", "svc-web", upstreams[0]!.port, [{ ip: "127.0.0.2" }]));
  await k.apply(ingress({ name: "main", host: "shop.test", paths: [{ path: "/", service: "svc-web", port: 80 }] }));
  await Promise.all([startReplica("a"), startReplica("b")]);
});

after(async () => {
  await Promise.all(started.map((r) => r.stop()));
  await Promise.all(upstreams.map((u) => u.close()));
  await api?.stop();
});

void describe("leader election through a Lease", () => {
  void test("exactly one replica holds the Lease, and only its address is ever written to status", async () => {
    const leader = await electedLeader(replica("a"), 5000);
    const follower = other(leader);
    await replica(leader).waitUntil(async () => (await statusAddresses()) === ADDRESS[leader], 3000, `status ${ADDRESS[leader]}`);
    // Let the follower run several retry periods: it must keep following and never write.
    await replica(follower).waitForLog((l) => l.msg === "new leader observed" && l.leader === leader, 3000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(await holder(), leader, "the leader keeps renewing");
    assert.equal(await statusAddresses(), ADDRESS[leader]);
    assert.equal(statusWrites(replica(follower)), 0, `follower ${follower} wrote status:\n${replica(follower).dumpLogs(20)}`);
    assert.ok(statusWrites(replica(leader)) >= 1);
    assert.equal(await statusPatchRequests(), statusWrites(replica(leader)), "every status PATCH the API server saw came from the leader");
  });

  void test("both replicas serve traffic", async () => {
    for (const name of ["a", "b"] as const) {
      const res = await replica(name).request("shop.test", "/");
      assert.equal(res.status, 200, `replica ${name}`);
      assert.equal((JSON.parse(res.body) as { upstream: string }).upstream, "web");
    }
  });

  void test("SIGTERM: the leader releases the Lease and the follower takes over at once", async () => {
    const stopping = await electedLeader(replica("a"), 3000);
    const successor = other(stopping);
    const transitions = (await lease())?.transitions ?? 0;
    await replica(stopping).stop();
    const exitedAt = Date.now();
    const stopped = replica(stopping);
    replicas.delete(stopping);
    assert.ok(stopped.logs.some((l) => l.msg === "released the lease"), stopped.dumpLogs(20));
    // Well under the 2 s lease: only a release lets the successor in this fast.
    await replica(successor).waitUntil(async () => (await holder()) === successor, 1000, `${successor} holds the Lease`);
    const takeoverMs = Date.now() - exitedAt;
    assert.ok(takeoverMs < LEASE_MS - 500, `took over ${takeoverMs} ms after the leader exited`);
    assert.equal((await lease())?.transitions, transitions + 1);
    await replica(successor).waitUntil(async () => (await statusAddresses()) === ADDRESS[successor], 3000, `status ${ADDRESS[successor]}`);
  });

  void test("SIGKILL: with no release, the follower takes over only once the Lease has expired", async () => {
    // The replica stopped above comes back; it must follow the live leader.
    const stopped = (["a", "b"] as const).find((name) => !replicas.has(name));
    assert.ok(stopped !== undefined, "the previous test left both replicas running");
    const restarted = await startReplica(stopped);
    const killed = other(stopped);
    const successor = stopped;
    await restarted.waitForLog((l) => l.msg === "new leader observed" && l.leader === killed, 3000);
    assert.equal(await holder(), killed, "a restarted replica follows the live leader");

    replica(killed).signal("SIGKILL");
    await replica(killed).exited;
    const killedAt = Date.now();
    replicas.delete(killed);
    assert.equal(statusWrites(restarted), 0, "the follower wrote no status while following");
    await restarted.waitUntil(async () => (await holder()) === successor, LEASE_MS + 2000, `${successor} holds the Lease`);
    const takeoverMs = Date.now() - killedAt;
    // The dead leader renewed at most one retry period (300 ms) before the kill.
    assert.ok(takeoverMs >= LEASE_MS - 500, `took over only ${takeoverMs} ms after the kill: before the Lease expired`);
    await restarted.waitUntil(async () => (await statusAddresses()) === ADDRESS[successor], 3000, `status ${ADDRESS[successor]}`);
    assert.equal((await restarted.request("shop.test", "/")).status, 200);
  });
});

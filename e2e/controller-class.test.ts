// Two installs in one cluster, told apart by --controller-class: a "public" turnout
// claims the IngressClasses whose spec.controller is the default value, an "internal"
// one those naming its own. Each holds its own Lease (its own --election-id), so each
// is a leader and writes status, with its own address. Each must serve and write
// status for its own class only, and an Ingress moved between classes changes hands.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import type { ClientRequest } from "node:http";
import { createInterface } from "node:readline";
import { z } from "zod";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, answeredBy, isStatusWriteLog } from "./support/turnout-process.ts";
import type { HttpResult } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

type Install = "public" | "internal";
const INSTALLS: Record<Install, { controller: string; address: string; args: string[] }> = {
  public: { controller: "turnout.dev/ingress-controller", address: "192.0.2.1", args: ["--ingress-class", "public"] },
  internal: {
    controller: "internal.example.com/turnout",
    address: "192.0.2.2",
    args: ["--controller-class", "internal.example.com/turnout", "--ingress-class", "internal"],
  },
};
const NO_ADDRESS = "(none)";

let api: KubeApiServerHandle;
let upstreams: EchoUpstream[] = [];
let statusWatch: ClientRequest | undefined;
const turnouts = new Map<Install, TurnoutProcess>();
/** Every status value each Ingress has had, in the API server's order, as a `kubectl get -w` shows it. */
const statusHistory = new Map<string, string[]>();

function turnout(install: Install): TurnoutProcess {
  const process = turnouts.get(install);
  if (!process) throw new Error(`the ${install} install is not running`);
  return process;
}

function ingressRef(name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name };
}

const statusSchema = z.object({
  metadata: z.object({ name: z.string(), resourceVersion: z.string() }),
  status: z.object({ loadBalancer: z.object({ ingress: z.array(z.object({ ip: z.string() })).default([]) }).default({ ingress: [] }) }).default({ loadBalancer: { ingress: [] } }),
});

function addressesOf(object: unknown): string {
  const ips = statusSchema.parse(object).status.loadBalancer.ingress.map((entry) => entry.ip);
  return ips.length === 0 ? NO_ADDRESS : ips.join(",");
}

async function statusOf(name: string): Promise<string> {
  return addressesOf(await api.client.get(ingressRef(name)));
}

/** Status writes a process logged (failed attempts included) for one Ingress. */
function statusWrites(install: Install, name: string): unknown[] {
  return turnout(install)
    .logs.filter((l) => isStatusWriteLog(l) && l.ref === `default/${name}`)
    .map((l) => l.addresses ?? l.msg);
}

/** Records every Ingress status change from a watch opened before any Ingress exists. */
function watchIngressStatus(): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL("/apis/networking.k8s.io/v1/ingresses?watch=true", api.url);
    statusWatch = httpsRequest(url, { ca: api.ca, headers: { authorization: `Bearer ${api.token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status watch: HTTP ${res.statusCode}`));
      resolve();
      const lines = createInterface({ input: res });
      // Destroying the watch in after() aborts the response; that is no failure.
      lines.on("error", () => undefined);
      lines.on("line", (line) => {
        const event = JSON.parse(line) as { type: string; object: unknown };
        if (event.type !== "ADDED" && event.type !== "MODIFIED") return;
        const name = statusSchema.parse(event.object).metadata.name;
        const history = statusHistory.get(name) ?? [];
        const addresses = addressesOf(event.object);
        // Spec edits are MODIFIED events too; only a changed status counts.
        if (history.at(-1) !== addresses) history.push(addresses);
        statusHistory.set(name, history);
      });
    });
    statusWatch.on("error", reject);
    statusWatch.end();
  });
}

async function upstreamOf(install: Install, host: string): Promise<string> {
  return answeredBy(await turnout(install).request(host, "/"));
}

function assertNoRoute(res: HttpResult, what: string): void {
  assert.equal(res.status, 404, what);
  assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_NO_ROUTE", what);
}

/** Samples `check` for ~2 s: a value that must hold throughout, not just once. */
async function holdsFor2s(check: () => Promise<void>): Promise<void> {
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    await check();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

before(async () => {
  api = await startKubeApiServer();
  await watchIngressStatus();
  upstreams = await startEchoFleet(["shop", "backoffice"], ["127.0.0.2", "127.0.0.3"]);
  const port = upstreams[0]!.port;
  const k = api.client;
  for (const install of ["public", "internal"] as const) await k.apply({ ...ingressClass(install), spec: { controller: INSTALLS[install].controller } });
  await k.apply(service("svc-shop"));
  await k.apply(service("svc-backoffice"));
  await k.apply(endpointSlice("svc-shop-1", "svc-shop", port, [{ ip: "127.0.0.2" }]));
  await k.apply(endpointSlice("svc-backoffice-1", "svc-backoffice", port, [{ ip: "127.0.0.3" }]));
  await k.apply(ingress({ name: "storefront", host: "shop.test", className: "public", paths: [{ path: "/", service: "svc-shop", port: 80 }] }));
  await k.apply(ingress({ name: "backoffice", host: "backoffice.test", className: "internal", paths: [{ path: "/", service: "svc-backoffice", port: 80 }] }));
  await k.apply(ingress({ name: "reports", host: "reports.test", className: "public", paths: [{ path: "/", service: "svc-backoffice", port: 80 }] }));
  await Promise.all(
    (["public", "internal"] as const).map(async (install) => {
      const process = await TurnoutProcess.start({
        kubeconfig: api.kubeconfigPath,
        args: [...INSTALLS[install].args, "--publish-status-address", INSTALLS[install].address, "--election-id", `turnout-${install}`],
        env: { POD_NAME: `turnout-${install}-0`, POD_NAMESPACE: "default" },
      });
      turnouts.set(install, process);
    }),
  );
});

after(async () => {
  statusWatch?.destroy();
  await Promise.all([...turnouts.values()].map((t) => t.stop()));
  await Promise.all(upstreams.map((u) => u.close()));
  await api?.stop();
});

void describe("two installs told apart by --controller-class", () => {
  void test("each install serves its own class and answers no-route for the other's", async () => {
    assert.equal(await upstreamOf("public", "shop.test"), "shop");
    assertNoRoute(await turnout("public").request("backoffice.test", "/"), "public install, internal host");
    assert.equal(await upstreamOf("internal", "backoffice.test"), "backoffice");
    assertNoRoute(await turnout("internal").request("shop.test", "/"), "internal install, public host");
  });

  void test("each Ingress's status carries only its own install's address, and stays so", async () => {
    const owner: Record<string, Install> = { storefront: "public", backoffice: "internal" };
    const resourceVersions = (): Promise<string[]> => Promise.all(Object.keys(owner).map(async (name) => statusSchema.parse(await api.client.get(ingressRef(name))).metadata.resourceVersion));
    for (const [name, install] of Object.entries(owner)) {
      await turnout(install).waitUntil(async () => (await statusOf(name)) === INSTALLS[install].address, 5000, `${name} status ${INSTALLS[install].address}`);
    }
    const settled = await resourceVersions();
    // Both leaders keep renewing their Leases and see each other's writes meanwhile.
    await holdsFor2s(async () => {
      for (const [name, install] of Object.entries(owner)) assert.equal(await statusOf(name), INSTALLS[install].address, `${name} status`);
    });
    assert.deepEqual(await resourceVersions(), settled, "no write touched either Ingress once settled");
    for (const [name, install] of Object.entries(owner)) {
      assert.deepEqual(statusHistory.get(name), [NO_ADDRESS, INSTALLS[install].address], `${name} status only ever had the ${install} address`);
      const stranger = install === "public" ? "internal" : "public";
      assert.deepEqual(statusWrites(stranger, name), [], `the ${stranger} install wrote ${name}'s status:\n${turnout(stranger).dumpLogs(20)}`);
    }
  });

  void test("moving an Ingress from class public to internal hands it, and its status, to the internal install", async () => {
    await turnout("public").waitUntil(async () => (await statusOf("reports")) === INSTALLS.public.address, 5000, "reports status: public address");
    assert.equal(await upstreamOf("public", "reports.test"), "backoffice");
    assertNoRoute(await turnout("internal").request("reports.test", "/"), "internal install before the move");

    await api.client.apply(ingress({ name: "reports", host: "reports.test", className: "internal", paths: [{ path: "/", service: "svc-backoffice", port: 80 }] }));
    await turnout("internal").waitUntil(async () => (await upstreamOf("internal", "reports.test")) === "backoffice", 3000, "internal install serves reports.test");
    await turnout("public").waitUntil(async () => (await turnout("public").request("reports.test", "/")).status === 404, 3000, "public install stops serving reports.test");
    assertNoRoute(await turnout("public").request("reports.test", "/"), "public install after the move");
    await turnout("internal").waitUntil(async () => (await statusOf("reports")) === INSTALLS.internal.address, 5000, "reports status: internal address");

    await holdsFor2s(async () => assert.equal(await statusOf("reports"), INSTALLS.internal.address, "reports status after the move"));
    const history = statusHistory.get("reports") ?? [];
    const firstInternal = history.indexOf(INSTALLS.internal.address);
    // The public install may clear its address before the internal one writes; once the internal address is there it must stay.
    const writes = `writes by public: ${JSON.stringify(statusWrites("public", "reports"))}, by internal: ${JSON.stringify(statusWrites("internal", "reports"))}`;
    assert.deepEqual(history.slice(firstInternal), [INSTALLS.internal.address], `reports status history: ${history.join(" -> ")}; ${writes}`);
    assert.ok(!history.some((a) => a.includes(",")), `never both addresses: ${history.join(" -> ")}`);
  });

  void test("an address another controller writes while the old owner's clear is in flight is not wiped by that clear", async () => {
    const OTHER_ADDRESS = "192.0.2.99";
    const handover = (className: string) => ingress({ name: "handover", host: "handover.test", className, paths: [{ path: "/", service: "svc-shop", port: 80 }] });
    // A class no running install claims: after the move only the public install acts on the Ingress, by clearing its address.
    await api.client.apply({ ...ingressClass("elsewhere"), spec: { controller: "elsewhere.example.com/ingress" } });
    await api.client.apply(handover("public"));
    await turnout("public").waitUntil(async () => (await statusOf("handover")) === INSTALLS.public.address, 5000, "handover status: public address");

    await api.client.delayNext(1, 500, { method: "PATCH", pathPrefix: "/apis/networking.k8s.io/v1/namespaces/default/ingresses/handover/status" });
    await api.client.apply(handover("elsewhere"));
    // The public install's clear is now held by the API server; the other class's controller writes its address meanwhile.
    await turnout("public").waitUntil(async () => (await api.client.state()).pendingDelays === 0, 5000, "the public install's clear reached the API server");
    await api.client.patch(ingressRef("handover"), { status: { loadBalancer: { ingress: [{ ip: OTHER_ADDRESS }] } } }, { subresource: "status" });

    // The held clear lands 500 ms later, and the public install plans again a second after its refusal: 2 s covers both.
    await holdsFor2s(async () => assert.equal(await statusOf("handover"), OTHER_ADDRESS, "handover status while the public install's clear lands"));
    assert.ok(
      turnout("public").logs.some((l) => l.msg.startsWith("ingress changed since its status write was planned") && l.ref === "default/handover"),
      "the public install was told its clear came too late",
    );
  });
});

// What makes an Ingress turnout's, and what users see as the objects involved
// appear, change and disappear: IngressClasses (deleted, recreated, default or not,
// legacy annotation), backend Services (deleted, recreated, another namespace's,
// ExternalName), Ingresses (deleted mid-request, deleted in a burst, replaced) and
// TLS Secrets (deleted, recreated). Served routes, Ingress status, Events and logs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, answeredBy } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service, tlsSecret } from "./support/objects.ts";
import { fingerprintOf, presentedCertificate } from "./support/tls-client.ts";
import type { PresentedCertificate } from "./support/tls-client.ts";
import { generateSelfSignedCertificate } from "../src/tls/self-signed.ts";

const ADDRESS = "192.0.2.70";
const IPS = ["127.0.0.70", "127.0.0.71", "127.0.0.72", "127.0.0.73"];

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let port: number;

interface EventItem {
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  reason?: string;
  type?: string;
  message?: string;
}

const ingressRef = (name: string, namespace = "default") => ({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace, name });

async function statusOf(name: string, namespace = "default"): Promise<string> {
  const object = (await api.client.get(ingressRef(name, namespace))) as { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } };
  return (object.status?.loadBalancer?.ingress ?? []).map((e) => e.ip ?? "").join(",");
}

async function eventsFor(name: string, namespace = "default"): Promise<EventItem[]> {
  const items = (await api.client.list("v1", "Event", { namespace })).items as EventItem[];
  return items.filter((e) => e.involvedObject?.name === name);
}

async function upstreamOf(host: string, path = "/"): Promise<string> {
  return answeredBy(await turnout.request(host, path));
}

async function eventually(host: string, path: string, expected: string, timeoutMs = 4000): Promise<void> {
  let last = "";
  await turnout.waitUntil(async () => (last = await upstreamOf(host, path)) === expected, timeoutMs, `${host}${path} -> ${expected} (last: ${last})`);
}

async function statusBecomes(name: string, expected: string, namespace = "default", timeoutMs = 4000): Promise<void> {
  let last = "";
  await turnout.waitUntil(async () => (last = await statusOf(name, namespace)) === expected, timeoutMs, `status of ${namespace}/${name} = "${expected}" (last: "${last}")`);
}

/** The certificate turnout presents for an SNI name. */
function peerCertificate(servername: string): Promise<PresentedCertificate> {
  return presentedCertificate(turnout.httpsPort, servername);
}

before(async () => {
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["o1", "o2", "o3", "o4"], IPS);
  port = fleet[0]!.port;
  const k = api.client;
  await k.apply(ingressClass());
  await k.apply({ ...ingressClass("other"), spec: { controller: "example.com/other" } });
  await k.apply(service("web"));
  await k.apply(endpointSlice("web-1", "web", port, [{ ip: IPS[0]! }]));
  await k.apply(service("web2"));
  await k.apply(endpointSlice("web2-1", "web2", port, [{ ip: IPS[1]! }]));
  await k.apply(ingress({ name: "anchor", host: "anchor.test", paths: [{ path: "/", service: "web", port: 80 }] }));
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--publish-status-address", ADDRESS] });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

describe("IngressClass lifecycle", () => {
  test("deleting our IngressClass stops its Ingresses' routes and clears their status; recreating it restores both", async () => {
    const k = api.client;
    await k.apply(ingressClass("life"));
    await k.apply(ingress({ name: "by-class", host: "by-class.test", className: "life", paths: [{ path: "/", service: "web", port: 80 }] }));
    await eventually("by-class.test", "/", "o1");
    await statusBecomes("by-class", ADDRESS);

    await k.delete({ apiVersion: "networking.k8s.io/v1", kind: "IngressClass", name: "life" });
    await eventually("by-class.test", "/", "status 404");
    await statusBecomes("by-class", "");
    const lost = turnout.logs.find((l) => l.msg === "Ingress is no longer turnout's; its routes are removed" && l.ref === "default/by-class");
    assert.equal(lost?.ingressClass, "life", "the log line says why the routes went");
    // Other classes' Ingresses are not affected, and the process is fine.
    assert.equal(await upstreamOf("anchor.test"), "o1");
    assert.equal(await statusOf("anchor"), ADDRESS);
    assert.equal((await turnout.admin("/readyz")).status, 200);

    await k.apply(ingressClass("life"));
    await eventually("by-class.test", "/", "o1");
    await statusBecomes("by-class", ADDRESS);
    assert.deepEqual(turnout.logs.filter((l) => l.level === "error" || l.level === "stderr").map((l) => l.msg), []);
  });

  test("spec.ingressClassName takes precedence over the legacy annotation; an empty class name counts as none", async () => {
    const k = api.client;
    const paths = [{ path: "/", service: "web2", port: 80 }];
    await k.apply(ingress({ name: "theirs-by-spec", host: "theirs-by-spec.test", className: "other", annotations: { "kubernetes.io/ingress.class": "turnout" }, paths }));
    await k.apply(ingress({ name: "ours-by-spec", host: "ours-by-spec.test", className: "turnout", annotations: { "kubernetes.io/ingress.class": "nginx" }, paths }));
    await k.apply(ingress({ name: "empty-class", host: "empty-class.test", className: "", annotations: { "kubernetes.io/ingress.class": "turnout" }, paths }));
    await eventually("ours-by-spec.test", "/", "o2");
    await eventually("empty-class.test", "/", "o2");
    await statusBecomes("ours-by-spec", ADDRESS);
    await statusBecomes("empty-class", ADDRESS);
    assert.equal(await upstreamOf("theirs-by-spec.test"), "status 404");
    assert.equal(await statusOf("theirs-by-spec"), "", "another controller's Ingress gets no status from turnout");
  });

  test("Ingresses without class follow our default IngressClasses: two defaults, then one, then none", async () => {
    const k = api.client;
    await k.apply(ingressClass("life-a", true));
    await k.apply(ingressClass("life-b", true));
    await k.apply(ingress({ name: "classless", host: "classless.test", className: null, paths: [{ path: "/", service: "web", port: 80 }] }));
    await eventually("classless.test", "/", "o1");
    await statusBecomes("classless", ADDRESS);

    await k.apply(ingressClass("life-a", false));
    // life-b is still our default: nothing changes.
    await eventually("anchor.test", "/", "o1");
    assert.equal(await upstreamOf("classless.test"), "o1");

    await k.delete({ apiVersion: "networking.k8s.io/v1", kind: "IngressClass", name: "life-b" });
    await eventually("classless.test", "/", "status 404");
    await statusBecomes("classless", "");

    await k.apply(ingressClass("life-a", true));
    await eventually("classless.test", "/", "o1");
    await statusBecomes("classless", ADDRESS);
  });
});

describe("backend Service lifecycle", () => {
  test("a deleted Service drops its route with a Warning Event; recreated, it serves again; deleted again, a new Event", async () => {
    const k = api.client;
    await k.apply(service("gone"));
    await k.apply(endpointSlice("gone-1", "gone", port, [{ ip: IPS[2]! }]));
    await k.apply(ingress({ name: "gone", host: "gone.test", paths: [{ path: "/", service: "gone", port: 80 }] }));
    await eventually("gone.test", "/", "o3");

    const notFound = async (): Promise<EventItem[]> => (await eventsFor("gone")).filter((e) => e.reason === "ServiceNotFound");
    await k.delete({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", namespace: "default", name: "gone-1" });
    await k.delete({ apiVersion: "v1", kind: "Service", namespace: "default", name: "gone" });
    await eventually("gone.test", "/", "status 404");
    const res = await turnout.request("gone.test", "/");
    assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_NO_ROUTE");
    await turnout.waitUntil(async () => (await notFound()).length === 1, 3000, "ServiceNotFound event");
    const [event] = await notFound();
    assert.equal(event?.type, "Warning");
    assert.match(event?.message ?? "", /default\/gone/);
    await turnout.waitForLog((l) => l.reason === "ServiceNotFound" && l.ref === "default/gone", 3000);

    await k.apply(service("gone"));
    await k.apply(endpointSlice("gone-1", "gone", port, [{ ip: IPS[2]! }]));
    await eventually("gone.test", "/", "o3");
    assert.equal(await statusOf("gone"), ADDRESS, "status stays while the Ingress stays ours");

    await k.delete({ apiVersion: "v1", kind: "Service", namespace: "default", name: "gone" });
    await eventually("gone.test", "/", "status 404");
    await turnout.waitUntil(async () => (await notFound()).length === 2, 3000, "a second ServiceNotFound event after the problem came back");
  });

  test("a Service of the same name in another namespace is not used", async () => {
    const k = api.client;
    await k.apply(service("shared", "team-b"));
    await k.apply(endpointSlice("shared-1", "shared", port, [{ ip: IPS[3]! }], "team-b"));
    await k.apply(ingress({ name: "team-a-site", namespace: "team-a", host: "team-a.test", paths: [{ path: "/", service: "shared", port: 80 }] }));
    await turnout.waitUntil(async () => (await eventsFor("team-a-site", "team-a")).some((e) => e.reason === "ServiceNotFound"), 3000, "ServiceNotFound event in team-a");
    const [event] = (await eventsFor("team-a-site", "team-a")).filter((e) => e.reason === "ServiceNotFound");
    assert.match(event?.message ?? "", /team-a\/shared/);
    assert.equal(await upstreamOf("team-a.test"), "status 404");

    await k.apply(service("shared", "team-a"));
    await k.apply(endpointSlice("shared-1", "shared", port, [{ ip: IPS[2]! }], "team-a"));
    await eventually("team-a.test", "/", "o3");
  });

  test("an Ingress applied a moment before its Service: no Warning, since the gap lasted under a second", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "early", host: "early.test", paths: [{ path: "/", service: "late", port: 80 }, { path: "/ok", service: "web", port: 80 }] }));
    // Routed: turnout has built a table with this Ingress and no Service "late".
    await eventually("early.test", "/ok", "o1");
    await k.apply(service("late"));
    await k.apply(endpointSlice("late-1", "late", port, [{ ip: IPS[3]! }]));
    await eventually("early.test", "/", "o4");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(await eventsFor("early"), []);
    assert.deepEqual(turnout.logs.filter((l) => l.ref === "default/early" && l.level === "warn"), [], "no warning logged");
  });

  test("an ExternalName Service is refused with an UnsupportedBackend Event; turned into a ClusterIP Service, it serves", async () => {
    const k = api.client;
    await k.apply({ apiVersion: "v1", kind: "Service", metadata: { name: "external", namespace: "default" }, spec: { type: "ExternalName", externalName: "example.org", ports: [{ name: "http", port: 80 }] } });
    await k.apply(
      ingress({
        name: "external",
        host: "external.test",
        paths: [
          { path: "/", service: "external", port: 80 },
          { path: "/ok", service: "web2", port: 80 },
        ],
      }),
    );
    await eventually("external.test", "/ok", "o2");
    await turnout.waitUntil(async () => (await eventsFor("external")).some((e) => e.reason === "UnsupportedBackend"), 3000, "UnsupportedBackend event");
    const [event] = (await eventsFor("external")).filter((e) => e.reason === "UnsupportedBackend");
    assert.equal(event?.type, "Warning");
    assert.match(event?.message ?? "", /ExternalName/);
    assert.equal(await upstreamOf("external.test", "/"), "status 404");

    await k.apply(service("external"));
    await k.apply(endpointSlice("external-1", "external", port, [{ ip: IPS[3]! }]));
    await eventually("external.test", "/", "o4");
  });
});

describe("Ingress lifecycle", () => {
  test("a request in flight when its Ingress is deleted completes; the next one gets 404", async () => {
    const k = api.client;
    // An upstream that holds each response until told to answer, and says when a request arrived.
    let arrived: () => void = () => undefined;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = http.createServer((req, res) => {
      arrived();
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first part;");
      void released.then(() => res.end("second part"));
    });
    await new Promise<void>((resolve) => held.listen(0, "127.0.0.75", resolve));
    const heldPort = (held.address() as AddressInfo).port;
    try {
      await k.apply(service("held"));
      await k.apply(endpointSlice("held-1", "held", heldPort, [{ ip: "127.0.0.75" }]));
      await k.apply(ingress({ name: "held", host: "held.test", paths: [{ path: "/", service: "held", port: 80 }] }));
      await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/held:80"]?.length === 1, 4000, "held endpoint known");
      const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port: turnout.httpPort, path: "/download", headers: { host: "held.test" }, agent: false, timeout: 10_000 }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error("request timed out")));
        req.on("error", reject);
        req.end();
      });
      await arrival;
      await k.delete(ingressRef("held"));
      await k.delete({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", namespace: "default", name: "held-1" });
      await k.delete({ apiVersion: "v1", kind: "Service", namespace: "default", name: "held" });
      await eventually("held.test", "/next", "status 404");
      release();
      const done = await inFlight;
      assert.equal(done.status, 200, "the request that was in flight completes");
      assert.equal(done.body, "first part;second part", "its whole body arrives");
    } finally {
      release();
      held.closeAllConnections();
      await new Promise<void>((resolve) => held.close(() => resolve()));
    }
  });

  test("a namespace's objects deleted in one burst, then recreated: routes and status follow", async () => {
    const k = api.client;
    const namespace = "burst";
    const count = 12;
    const create = async (): Promise<void> => {
      for (let i = 0; i < count; i++) {
        await k.apply(service(`svc-${i}`, namespace));
        await k.apply(endpointSlice(`svc-${i}-1`, `svc-${i}`, port, [{ ip: IPS[i % 4]! }], namespace));
        await k.apply(ingress({ name: `ing-${i}`, namespace, host: `b${i}.burst.test`, paths: [{ path: "/", service: `svc-${i}`, port: 80 }] }));
      }
    };
    const all = async (expected: (i: number) => string): Promise<boolean> => {
      for (let i = 0; i < count; i++) if ((await upstreamOf(`b${i}.burst.test`)) !== expected(i)) return false;
      return true;
    };
    const names = ["o1", "o2", "o3", "o4"];
    await create();
    await turnout.waitUntil(() => all((i) => names[i % 4]!), 5000, "every burst host routed");
    await turnout.waitUntil(async () => (await statusOf(`ing-${count - 1}`, namespace)) === ADDRESS, 5000, "status written");

    await k.pauseWatches();
    for (let i = 0; i < count; i++) {
      await k.delete(ingressRef(`ing-${i}`, namespace));
      await k.delete({ apiVersion: "v1", kind: "Service", namespace, name: `svc-${i}` });
      await k.delete({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", namespace, name: `svc-${i}-1` });
    }
    await k.resumeWatches();
    await turnout.waitUntil(() => all(() => "status 404"), 5000, "every burst host gone");
    assert.equal(await upstreamOf("anchor.test"), "o1");

    await create();
    await turnout.waitUntil(() => all((i) => names[i % 4]!), 5000, "every burst host routed again");
    for (let i = 0; i < count; i++) await statusBecomes(`ing-${i}`, ADDRESS, namespace);
    // Nothing about the deleted objects was reported as a problem.
    assert.deepEqual((await api.client.list("v1", "Event", { namespace })).items.map((e) => (e as EventItem).reason), []);
  });

  test("an Ingress replaced (deleted and created again at once) gets its Warning Event on the new object", async () => {
    const k = api.client;
    const manifest = ingress({ name: "replaced", host: "replaced.test", paths: [{ path: "/", service: "nowhere", port: 80 }, { path: "/ok", service: "web", port: 80 }] });
    await k.apply(manifest);
    await eventually("replaced.test", "/ok", "o1");
    const firstUid = (await k.get(ingressRef("replaced"))).metadata.uid;
    await turnout.waitUntil(async () => (await eventsFor("replaced")).some((e) => e.reason === "ServiceNotFound" && e.involvedObject?.uid === firstUid), 3000, "event on the first object");

    // kubectl replace --force: delete and create; turnout sees both together.
    await k.pauseWatches();
    await k.delete(ingressRef("replaced"));
    await k.create(manifest);
    await k.resumeWatches();
    const secondUid = (await k.get(ingressRef("replaced"))).metadata.uid;
    assert.notEqual(secondUid, firstUid);
    await statusBecomes("replaced", ADDRESS);
    await eventually("replaced.test", "/ok", "o1");
    // kubectl describe ingress replaced lists Events by the object's uid.
    await turnout.waitUntil(
      async () => (await eventsFor("replaced")).some((e) => e.reason === "ServiceNotFound" && e.involvedObject?.uid === secondUid),
      3000,
      "ServiceNotFound event on the new object (its uid)",
    );
  });
});

describe("TLS Secret lifecycle", () => {
  const siteCert = generateSelfSignedCertificate({ commonName: "secure.test", dnsNames: ["secure.test"] });

  test("a deleted TLS Secret: default certificate and a Warning Event, routes stay; recreated, served again without restart", async () => {
    const k = api.client;
    await k.apply(tlsSecret("secure-tls", siteCert));
    await k.apply(ingress({ name: "secure", host: "secure.test", paths: [{ path: "/", service: "web", port: 80 }], tls: [{ hosts: ["secure.test"], secretName: "secure-tls" }] }));
    await turnout.waitUntil(async () => (await peerCertificate("secure.test")).fingerprint === fingerprintOf(siteCert), 4000, "site certificate");

    await k.delete({ apiVersion: "v1", kind: "Secret", namespace: "default", name: "secure-tls" });
    await turnout.waitUntil(async () => /turnout-default/.test((await peerCertificate("secure.test")).subject), 4000, "default certificate");
    await turnout.waitUntil(async () => (await eventsFor("secure")).some((e) => e.reason === "TLSSecretNotFound" && e.type === "Warning"), 3000, "TLSSecretNotFound event");
    const [event] = (await eventsFor("secure")).filter((e) => e.reason === "TLSSecretNotFound");
    assert.match(event?.message ?? "", /default\/secure-tls/);
    // The routes stay: plain HTTP is still redirected to HTTPS for the host.
    assert.equal((await turnout.request("secure.test", "/")).status, 308);

    await k.apply(tlsSecret("secure-tls", siteCert));
    await turnout.waitUntil(async () => (await peerCertificate("secure.test")).fingerprint === fingerprintOf(siteCert), 4000, "site certificate again");
  });

  test("a TLS Secret of type Opaque is not read (docs/tls.md): default certificate, and the Event says which type is read", async () => {
    const k = api.client;
    const opaqueCert = generateSelfSignedCertificate({ commonName: "opaque.test", dnsNames: ["opaque.test"] });
    await k.apply(tlsSecret("opaque-tls", opaqueCert, { type: "Opaque" }));
    await k.apply(ingress({ name: "opaque", host: "opaque.test", paths: [{ path: "/", service: "web", port: 80 }], tls: [{ hosts: ["opaque.test"], secretName: "opaque-tls" }] }));
    await eventually("opaque.test", "/", "status 308");
    await turnout.waitUntil(async () => (await eventsFor("opaque")).some((e) => e.reason === "TLSSecretNotFound" && e.type === "Warning"), 3000, "TLSSecretNotFound event");
    const [event] = (await eventsFor("opaque")).filter((e) => e.reason === "TLSSecretNotFound");
    assert.match(event?.message ?? "", /"default\/opaque-tls" not found \(turnout reads only Secrets of type kubernetes\.io\/tls\)/);
    assert.match((await peerCertificate("opaque.test")).subject, /turnout-default/);
    // The same keys in a Secret of type kubernetes.io/tls are served, without restart.
    await k.delete({ apiVersion: "v1", kind: "Secret", namespace: "default", name: "opaque-tls" });
    await k.apply(tlsSecret("opaque-tls", opaqueCert));
    await turnout.waitUntil(async () => (await peerCertificate("opaque.test")).fingerprint === fingerprintOf(opaqueCert), 4000, "the certificate once the Secret has type kubernetes.io/tls");
  });
});

// TLS end to end: the real process serves spec.tls hosts with certificates from
// kubernetes.io/tls Secrets chosen by SNI, rotates them without restart, falls
// back to the default certificate for missing or broken Secrets (with a Warning
// Event), and redirects plain HTTP to HTTPS.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import { connect } from "node:tls";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service, tlsSecret } from "./support/objects.ts";
import { fingerprintOf } from "./support/tls-client.ts";
import { generateSelfSignedCertificate } from "../src/tls/self-signed.ts";

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;

/** The certificate turnout presents for an SNI name (or none), and an HTTP answer on that connection. */
function handshake(servername: string | undefined, host = servername ?? "none"): Promise<{ subject: string; fingerprint: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: turnout.httpsPort, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.write(`GET / HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
      let body = "";
      socket.on("data", (d: Buffer) => (body += d.toString()));
      socket.on("end", () => resolve({ subject: peer?.subject ?? "", fingerprint: peer?.fingerprint256 ?? "", body }));
    });
    socket.on("error", reject);
  });
}

const shopCert = generateSelfSignedCertificate({ commonName: "shop.test", dnsNames: ["shop.test"] });
const wildCert = generateSelfSignedCertificate({ commonName: "*.wild.test", dnsNames: ["*.wild.test"] });
const rotatedCert = generateSelfSignedCertificate({ commonName: "shop.test", dnsNames: ["shop.test"] });

before(async () => {
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["t1"], ["127.0.0.31"]);
  const k = api.client;
  await k.apply(ingressClass());
  await k.apply(service("web"));
  await k.apply(endpointSlice("web-1", "web", fleet[0]!.port, [{ ip: "127.0.0.31" }]));
  await k.apply(tlsSecret("shop-tls", shopCert));
  await k.apply(tlsSecret("wild-tls", wildCert));
  await k.apply(tlsSecret("broken-tls", { cert: "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n", key: shopCert.key }));
  const web = [{ path: "/", service: "web", port: 80 }];
  await k.apply(ingress({ name: "shop", host: "shop.test", paths: web, tls: [{ hosts: ["shop.test"], secretName: "shop-tls" }] }));
  await k.apply(ingress({ name: "wild", host: "*.wild.test", paths: web, tls: [{ hosts: ["*.wild.test"], secretName: "wild-tls" }] }));
  await k.apply(ingress({ name: "broken", host: "broken.test", paths: web, tls: [{ hosts: ["broken.test"], secretName: "broken-tls" }] }));
  await k.apply(ingress({ name: "plain", host: "plain.test", annotations: { "turnout.dev/ssl-redirect": "false" }, paths: web, tls: [{ hosts: ["plain.test"], secretName: "shop-tls" }] }));
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--https-redirect-port", "443"] });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

describe("certificate selection by SNI", () => {
  test("an exact host gets its Secret's certificate and is proxied", async () => {
    const served = await handshake("shop.test");
    assert.equal(served.fingerprint, fingerprintOf(shopCert));
    assert.match(served.body, /^HTTP\/1\.1 200 /);
    assert.match(served.body, /"upstream":"t1"/);
  });

  test("a wildcard certificate covers one extra label", async () => {
    assert.equal((await handshake("a.wild.test")).fingerprint, fingerprintOf(wildCert));
  });

  test("unknown names and clients without SNI get the default (self-signed) certificate", async () => {
    const unknown = await handshake("unknown.test");
    assert.notEqual(unknown.fingerprint, fingerprintOf(shopCert));
    assert.match(unknown.subject, /turnout-default/);
    assert.match((await handshake(undefined, "shop.test")).subject, /turnout-default/);
  });

  test("a malformed Secret: that host gets the default certificate and a Warning Event; others are unaffected", async () => {
    assert.match((await handshake("broken.test")).subject, /turnout-default/);
    await turnout.waitUntil(async () => {
      const events = (await api.client.list("v1", "Event", { namespace: "default" })).items as { involvedObject?: { name?: string }; reason?: string; type?: string }[];
      return events.some((e) => e.involvedObject?.name === "broken" && e.reason === "TLSSecretInvalid" && e.type === "Warning");
    }, 3000, "TLSSecretInvalid event");
    assert.equal((await handshake("shop.test")).fingerprint, fingerprintOf(shopCert));
  });
});

describe("rotation and redirects", () => {
  test("a Secret update rotates the certificate without restart; open connections keep working", async () => {
    const open = connect({ host: "127.0.0.1", port: turnout.httpsPort, servername: "shop.test", rejectUnauthorized: false });
    await new Promise<void>((resolve) => open.once("secureConnect", () => resolve()));
    await api.client.apply(tlsSecret("shop-tls", rotatedCert));
    await turnout.waitUntil(async () => (await handshake("shop.test")).fingerprint === fingerprintOf(rotatedCert), 3000, "rotated certificate");
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      open.on("data", (d: Buffer) => (text += d.toString()));
      open.on("end", () => resolve(text));
      open.write("GET / HTTP/1.1\r\nhost: shop.test\r\nconnection: close\r\n\r\n");
    });
    assert.match(answer, /^HTTP\/1\.1 200 /, "a connection opened before the rotation still works");
  });

  test("plain HTTP to a TLS host is redirected with 308 unless ssl-redirect is false", async () => {
    const redirected = await turnout.request("shop.test:8080", "/cart?id=1");
    assert.equal(redirected.status, 308);
    assert.equal(redirected.headers.location, "https://shop.test/cart?id=1");
    assert.equal((await turnout.request("plain.test", "/")).status, 200);
    assert.equal((await turnout.request("other.test", "/")).status, 404, "hosts without TLS are not redirected");
  });

  test("a plain-HTTP WebSocket upgrade to a TLS host is redirected too, not tunnelled in clear text", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(turnout.httpPort, "127.0.0.1", () =>
        socket.write("GET /chat HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
      );
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString()));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    assert.match(answer, /^HTTP\/1\.1 308 /);
    assert.match(answer, /\r\nlocation: https:\/\/shop\.test\/chat\r\n/);
  });
});

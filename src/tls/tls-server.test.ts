// HTTPS listener with real TLS clients on loopback: which certificate each
// handshake gets, bad Secrets, rotation without dropping open connections,
// TLS version floor.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import type { TLSSocket } from "node:tls";
import type { HostRoutes } from "../routing/index.ts";
import { hostRoutes, table } from "../routing/test-tables.ts";
import type { Secret } from "../store/index.ts";
import { TlsServer } from "./tls-server.ts";
import type { TlsServerOptions } from "./tls-server.ts";
import { fingerprint, opensslCaSigned, opensslWildcardRsa, secretOf, selfSigned, tlsSecret } from "./test-certificates.ts";

function tlsHost(host: string, secret: string): HostRoutes {
  const routes = hostRoutes(host, { "/": "site" });
  routes.tlsSecret = secret;
  return routes;
}

async function start(options: TlsServerOptions = {}): Promise<{ tlsServer: TlsServer; port: number }> {
  const tlsServer = new TlsServer(options);
  tlsServer.server.on("request", (_req: IncomingMessage, res: ServerResponse) => res.end("ok"));
  await new Promise<void>((resolve) => tlsServer.server.listen(0, "127.0.0.1", resolve));
  return { tlsServer, port: (tlsServer.server.address() as AddressInfo).port };
}

async function stop(tlsServer: TlsServer): Promise<void> {
  tlsServer.server.closeAllConnections();
  await new Promise<void>((resolve) => tlsServer.server.close(() => resolve()));
}

const openSockets = new Set<TLSSocket>();

/** Completes a handshake; the caller reads the peer certificate and may send requests. */
function connect(port: number, servername: string | undefined, extra: tls.ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}), ...extra });
    openSockets.add(socket);
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Fingerprint of the certificate served for `servername`. */
async function servedFor(port: number, servername: string | undefined): Promise<string> {
  const socket = await connect(port, servername);
  const served = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return served;
}

/** One HTTP/1.1 request over an open TLS connection; resolves with the status line. */
function request(socket: TLSSocket, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    const onData = (chunk: Buffer): void => {
      received += chunk.toString("latin1");
      if (!received.endsWith("\r\n\r\nok")) return;
      socket.off("data", onData);
      socket.off("error", reject);
      resolve(received.split("\r\n")[0] ?? "");
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(`GET / HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
  });
}

after(() => {
  for (const socket of openSockets) socket.destroy();
});

void describe("TlsServer certificate selection", () => {
  const exactPem = selfSigned("a.example.com", ["a.example.com"]);
  const wildcardPem = opensslWildcardRsa();
  const defaultPem = selfSigned("turnout-default");
  let tlsServer: TlsServer;
  let port: number;

  before(async () => {
    ({ tlsServer, port } = await start({ selfSigned: defaultPem }));
    const update = tlsServer.update(table([tlsHost("a.example.com", "default/exact"), tlsHost("*.example.com", "default/wild")]), [
      secretOf("default/exact", exactPem),
      secretOf("default/wild", wildcardPem),
    ]);
    assert.deepEqual(update.problems, []);
  });
  after(() => stop(tlsServer));

  const cases: [string, string | undefined, () => string][] = [
    ["exact host gets its Secret's certificate", "a.example.com", () => fingerprint(exactPem)],
    ["SNI is matched case-insensitively", "A.EXAMPLE.com", () => fingerprint(exactPem)],
    ["a name under the wildcard host gets the wildcard (RSA, openssl-made) certificate", "b.example.com", () => fingerprint(wildcardPem)],
    ["the wildcard's apex gets the default", "example.com", () => fingerprint(defaultPem)],
    ["two labels under the wildcard get the default", "x.b.example.com", () => fingerprint(defaultPem)],
    ["an unknown name gets the default", "unknown.test", () => fingerprint(defaultPem)],
    ["no SNI gets the default", undefined, () => fingerprint(defaultPem)],
  ];
  for (const [name, servername, expected] of cases) {
    void it(name, async () => assert.equal(await servedFor(port, servername), expected()));
  }

  void it("serves HTTP over the connection", async () => {
    const socket = await connect(port, "a.example.com");
    assert.equal(await request(socket, "a.example.com"), "HTTP/1.1 200 OK");
    socket.destroy();
  });

  void it("refuses TLS 1.1 clients with a protocol_version alert", async () => {
    const oldClient = { minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" } as const;
    for (const servername of ["a.example.com", undefined]) {
      await assert.rejects(connect(port, servername, oldClient), { code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" });
    }
    const modern = await connect(port, "a.example.com", { maxVersion: "TLSv1.2" });
    assert.equal(modern.getProtocol(), "TLSv1.2");
    modern.destroy();
  });
});

void describe("TlsServer with verifying clients", () => {
  let tlsServer: TlsServer;
  let port: number;
  const { ca, leaf } = opensslCaSigned();

  before(async () => {
    ({ tlsServer, port } = await start());
    tlsServer.update(table([tlsHost("secure.example.com", "default/secure")]), [secretOf("default/secure", leaf)]);
  });
  after(() => stop(tlsServer));

  void it("a CA-signed certificate verifies against its CA", async () => {
    const socket = await connect(port, "secure.example.com", { ca, rejectUnauthorized: true });
    assert.equal(socket.authorized, true);
    socket.destroy();
  });

  void it("the generated default certificate verifies for turnout-default when trusted", async () => {
    const defaultCert = tlsServer.index.fallback.pem.cert;
    const socket = await connect(port, undefined, { ca: defaultCert, rejectUnauthorized: true, checkServerIdentity: (host, cert) => tls.checkServerIdentity("turnout-default", cert) });
    assert.equal(socket.authorized, true);
    assert.equal(socket.getPeerCertificate().subject.CN, "turnout-default");
    socket.destroy();
  });
});

void describe("TlsServer with bad Secrets", () => {
  const goodPem = selfSigned("good.example.com");
  const otherPem = selfSigned("other");
  const defaultPem = selfSigned("turnout-default");
  let tlsServer: TlsServer;
  let port: number;

  before(async () => {
    ({ tlsServer, port } = await start({ selfSigned: defaultPem }));
  });
  after(() => stop(tlsServer));

  void it("hosts with missing or malformed Secrets get the default; the others are unaffected; problems name them", async () => {
    const secrets: Secret[] = [
      secretOf("default/good", goodPem),
      tlsSecret("default/no-key", { "tls.crt": goodPem.cert }),
      tlsSecret("default/garbage", { "tls.crt": "garbage", "tls.key": goodPem.key }),
      tlsSecret("default/mismatch", { "tls.crt": goodPem.cert, "tls.key": otherPem.key }),
    ];
    const { problems } = tlsServer.update(
      table([
        tlsHost("good.example.com", "default/good"),
        tlsHost("no-key.example.com", "default/no-key"),
        tlsHost("garbage.example.com", "default/garbage"),
        tlsHost("mismatch.example.com", "default/mismatch"),
        tlsHost("absent.example.com", "default/absent"),
      ]),
      secrets,
    );
    assert.deepEqual(
      problems.map((p) => [p.secret, p.reason]),
      [
        ["default/garbage", "TLSSecretInvalid"],
        ["default/mismatch", "TLSSecretInvalid"],
        ["default/no-key", "TLSSecretInvalid"],
        ["default/absent", "TLSSecretNotFound"],
      ],
    );
    assert.equal(await servedFor(port, "good.example.com"), fingerprint(goodPem));
    for (const host of ["no-key.example.com", "garbage.example.com", "mismatch.example.com", "absent.example.com"]) {
      assert.equal(await servedFor(port, host), fingerprint(defaultPem), host);
    }
  });
});

void describe("TlsServer certificate rotation", () => {
  const firstPem = selfSigned("a.example.com");
  const secondPem = selfSigned("a.example.com");
  let tlsServer: TlsServer;
  let port: number;

  before(async () => {
    ({ tlsServer, port } = await start());
  });
  after(() => stop(tlsServer));

  void it("new handshakes get the new certificate; an open connection keeps working on the old one", async () => {
    const routes = table([tlsHost("a.example.com", "default/site-tls")]);
    tlsServer.update(routes, [secretOf("default/site-tls", firstPem, "1")]);
    const open = await connect(port, "a.example.com");
    assert.equal(open.getPeerCertificate().fingerprint256, fingerprint(firstPem));
    assert.equal(await request(open, "a.example.com"), "HTTP/1.1 200 OK");

    const rotated = tlsServer.update(routes, [secretOf("default/site-tls", secondPem, "2")]);
    assert.equal(rotated.changed, true);
    assert.equal(await servedFor(port, "a.example.com"), fingerprint(secondPem));
    assert.equal(await request(open, "a.example.com"), "HTTP/1.1 200 OK");
    assert.equal(open.getPeerCertificate().fingerprint256, fingerprint(firstPem));
    open.destroy();
  });

  void it("an unchanged Secret is not re-parsed: the same certificate object stays in the index", () => {
    const routes = table([tlsHost("a.example.com", "default/site-tls")]);
    tlsServer.update(routes, [secretOf("default/site-tls", firstPem, "7")]);
    const before = tlsServer.index.exact.get("a.example.com");
    const again = tlsServer.update(table([tlsHost("a.example.com", "default/site-tls"), hostRoutes("plain.example.com", { "/": "x" })]), [
      secretOf("default/site-tls", firstPem, "7"),
    ]);
    assert.equal(again.changed, false);
    assert.equal(tlsServer.index.exact.get("a.example.com"), before);
  });
});

void describe("TlsServer --default-ssl-certificate", () => {
  const selfSignedPem = selfSigned("turnout-default");
  const defaultPem = selfSigned("default.example.com");
  const nextDefaultPem = selfSigned("default.example.com");
  let tlsServer: TlsServer;
  let port: number;

  before(async () => {
    ({ tlsServer, port } = await start({ selfSigned: selfSignedPem, defaultSecret: { namespace: "ingress", name: "default-cert" } }));
  });
  after(() => stop(tlsServer));

  void it("serves the Secret for unknown names and clients without SNI, and follows its rotation", async () => {
    assert.equal(await servedFor(port, undefined), fingerprint(selfSignedPem), "before the first update");
    const first = tlsServer.update(undefined, [secretOf("ingress/default-cert", defaultPem, "1")]);
    assert.deepEqual(first.problems, []);
    assert.equal(await servedFor(port, undefined), fingerprint(defaultPem));
    assert.equal(await servedFor(port, "unknown.test"), fingerprint(defaultPem));

    tlsServer.update(undefined, [secretOf("ingress/default-cert", nextDefaultPem, "2")]);
    assert.equal(await servedFor(port, undefined), fingerprint(nextDefaultPem));
    assert.equal(await servedFor(port, "unknown.test"), fingerprint(nextDefaultPem));
  });

  void it("falls back to the self-signed certificate when the Secret goes away", async () => {
    const { problems } = tlsServer.update(undefined, []);
    assert.deepEqual(problems.map((p) => p.reason), ["TLSSecretNotFound"]);
    assert.equal(await servedFor(port, undefined), fingerprint(selfSignedPem));
  });
});

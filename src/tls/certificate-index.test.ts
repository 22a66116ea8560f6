// Certificate selection and Secret problems, decided from data alone (no sockets).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HostRoutes, RouteTable } from "../routing/index.ts";
import { group, hostRoutes, member, table } from "../routing/test-tables.ts";
import type { Secret } from "../store/index.ts";
import { buildCertificateIndex, selectCertificate } from "./certificate-index.ts";
import type { CertificateIndexInput } from "./certificate-index.ts";
import { loadCertificate, loadTlsSecret } from "./served-certificate.ts";
import type { ServedCertificate } from "./served-certificate.ts";
import { secretOf, selfSigned, tlsSecret } from "./test-certificates.ts";

const NOW = new Date("2030-06-01T00:00:00Z");

function served(pem = selfSigned("fallback")): ServedCertificate {
  const loaded = loadCertificate("self-signed", "", pem);
  assert.ok(loaded.ok);
  return loaded.served;
}

const SELF_SIGNED = served();

/** A host routed by `ingress` (namespace/name) whose TLS Secret is `secret`. */
function tlsHost(host: string, secret: string, ingress = "default/site"): HostRoutes {
  const [namespace = "", name = ""] = ingress.split("/");
  const routes = hostRoutes(host, {});
  routes.prefix.set("", group(host, "", "Prefix", [{ ...member(name, { weight: 100 }), source: { namespace, name } }]));
  routes.tlsSecret = secret;
  return routes;
}

function build(t: RouteTable | undefined, secrets: Secret[], extra: Partial<CertificateIndexInput> = {}) {
  return buildCertificateIndex({ table: t, secrets, selfSigned: SELF_SIGNED, load: loadTlsSecret, now: NOW, ...extra });
}

const exactPem = selfSigned("a.example.com", ["a.example.com"], NOW);
const wildcardPem = selfSigned("wildcard", ["*.example.com"], NOW);

void describe("selectCertificate", () => {
  const { index, problems } = build(
    table([tlsHost("a.example.com", "default/exact"), tlsHost("*.example.com", "default/wild")]),
    [secretOf("default/exact", exactPem), secretOf("default/wild", wildcardPem)],
  );
  const exact = index.exact.get("a.example.com");
  const wildcard = index.wildcard.get("example.com");

  void it("indexes both Secrets without problems", () => {
    assert.deepEqual(problems, []);
    assert.equal(exact?.source, "default/exact");
    assert.equal(wildcard?.source, "default/wild");
  });

  const cases: [string, string | undefined, () => ServedCertificate | undefined][] = [
    ["exact host", "a.example.com", () => exact],
    ["exact host, any case", "A.Example.COM", () => exact],
    ["exact host with a trailing dot", "a.example.com.", () => exact],
    ["one label under the wildcard", "b.example.com", () => wildcard],
    ["wildcard, any case", "B.EXAMPLE.com", () => wildcard],
    ["the wildcard's apex is not covered", "example.com", () => SELF_SIGNED],
    ["two labels under the wildcard are not covered", "x.b.example.com", () => SELF_SIGNED],
    ["unknown name", "other.test", () => SELF_SIGNED],
    ["no SNI", undefined, () => SELF_SIGNED],
    ["empty SNI", "", () => SELF_SIGNED],
  ];
  for (const [name, serverName, expected] of cases) {
    void it(name, () => assert.equal(selectCertificate(index, serverName), expected()));
  }
});

void describe("buildCertificateIndex problems", () => {
  const good = secretOf("default/good", exactPem);
  const otherPem = selfSigned("other");

  void it("a missing Secret: its hosts get the default, the routing Ingresses a TLSSecretNotFound, others unaffected", () => {
    const t = table([
      tlsHost("a.example.com", "default/good"),
      tlsHost("b.example.com", "default/absent", "default/shop"),
      tlsHost("*.apps.example.com", "default/absent", "default/apps"),
    ]);
    const { index, problems } = build(t, [good]);
    assert.equal(index.exact.get("a.example.com")?.source, "default/good");
    assert.equal(index.exact.get("b.example.com"), SELF_SIGNED);
    assert.equal(index.wildcard.get("apps.example.com"), SELF_SIGNED);
    assert.deepEqual(
      problems.map((p) => [`${p.ref.kind} ${p.ref.namespace}/${p.ref.name}`, p.reason, p.secret, p.hosts.join(" ")]),
      [
        ["Ingress default/apps", "TLSSecretNotFound", "default/absent", "*.apps.example.com b.example.com"],
        ["Ingress default/shop", "TLSSecretNotFound", "default/absent", "*.apps.example.com b.example.com"],
      ],
    );
    assert.equal(problems[0]?.severity, "Warning");
    assert.match(problems[0]?.message ?? "", /"default\/absent" not found \(turnout reads only Secrets of type kubernetes\.io\/tls\); HTTPS for \*\.apps\.example\.com, b\.example\.com uses the default certificate/);
  });

  const invalid: [string, Secret, RegExp][] = [
    ["missing tls.key", tlsSecret("default/bad", { "tls.crt": exactPem.cert }), /missing or empty data key "tls\.key"/],
    ["both keys missing", tlsSecret("default/bad", {}), /data keys "tls\.crt" and "tls\.key"/],
    ["garbage certificate", tlsSecret("default/bad", { "tls.crt": "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", "tls.key": exactPem.key }), /tls\.crt is not a PEM certificate/],
    ["garbage key", tlsSecret("default/bad", { "tls.crt": exactPem.cert, "tls.key": "not a key" }), /tls\.key is not an unencrypted PEM private key/],
    ["key of another certificate", tlsSecret("default/bad", { "tls.crt": exactPem.cert, "tls.key": otherPem.key }), /tls\.key does not belong to the certificate in tls\.crt/],
  ];
  for (const [name, secret, message] of invalid) {
    void it(`${name}: TLSSecretInvalid, the host gets the default, other hosts unaffected`, () => {
      const { index, problems } = build(table([tlsHost("a.example.com", "default/good"), tlsHost("b.example.com", "default/bad")]), [good, secret]);
      assert.equal(index.exact.get("a.example.com")?.source, "default/good");
      assert.equal(index.exact.get("b.example.com"), SELF_SIGNED);
      assert.equal(problems.length, 1);
      assert.equal(problems[0]?.reason, "TLSSecretInvalid");
      assert.deepEqual(problems[0]?.ref, { kind: "Ingress", namespace: "default", name: "site" });
      assert.match(problems[0]?.message ?? "", message);
      assert.match(problems[0]?.message ?? "", /"default\/bad" is unusable: .*HTTPS for b\.example\.com uses the default certificate/);
    });
  }

  void it("an expired certificate is still served, with a TLSCertificateExpired warning", () => {
    const expired = selfSigned("old.example.com", ["old.example.com"], new Date("2029-01-01T00:00:00Z"), 30);
    const { index, problems } = build(table([tlsHost("old.example.com", "default/old")]), [secretOf("default/old", expired)]);
    assert.equal(index.exact.get("old.example.com")?.source, "default/old");
    assert.deepEqual(problems.map((p) => p.reason), ["TLSCertificateExpired"]);
    assert.match(problems[0]?.message ?? "", /expired at 2029-01-31T00:00:00\.000Z; it is still served for old\.example\.com/);
  });

  void it("Events go to the routing Ingresses in the Secret's namespace only", () => {
    const routes = tlsHost("a.example.com", "team/absent", "team/site");
    routes.exact.set("/other", group("a.example.com", "/other", "Exact", [{ ...member("x", { weight: 100 }), source: { namespace: "elsewhere", name: "x" } }]));
    const { problems } = build(table([routes]), []);
    assert.deepEqual(problems.map((p) => p.ref), [{ kind: "Ingress", namespace: "team", name: "site" }]);
  });

  void it("no table: only the default certificate, no problems", () => {
    const { index, problems } = build(undefined, [good]);
    assert.equal(index.exact.size + index.wildcard.size, 0);
    assert.equal(index.fallback, SELF_SIGNED);
    assert.deepEqual(problems, []);
  });
});

void describe("default certificate Secret (--default-ssl-certificate)", () => {
  const defaultPem = selfSigned("default.example.com", ["default.example.com"], NOW);
  const ref = { namespace: "ingress", name: "default-cert" };

  void it("replaces the self-signed fallback, also for hosts whose Secret is missing", () => {
    const { index, problems } = build(table([tlsHost("b.example.com", "default/absent")]), [secretOf("ingress/default-cert", defaultPem)], { defaultSecret: ref });
    assert.equal(index.fallback.source, "ingress/default-cert");
    assert.equal(index.exact.get("b.example.com"), index.fallback);
    assert.deepEqual(problems.map((p) => p.reason), ["TLSSecretNotFound"]);
  });

  void it("missing: the self-signed certificate, and a problem on the Secret", () => {
    const { index, problems } = build(undefined, [], { defaultSecret: ref });
    assert.equal(index.fallback, SELF_SIGNED);
    assert.deepEqual(problems.map((p) => [p.ref, p.reason]), [[{ kind: "Secret", ...ref }, "TLSSecretNotFound"]]);
    assert.match(problems[0]?.message ?? "", /--default-ssl-certificate.*self-signed/);
  });

  void it("invalid: the self-signed certificate, and a problem saying why", () => {
    const { index, problems } = build(undefined, [tlsSecret("ingress/default-cert", { "tls.crt": defaultPem.cert })], { defaultSecret: ref });
    assert.equal(index.fallback, SELF_SIGNED);
    assert.deepEqual(problems.map((p) => p.reason), ["TLSSecretInvalid"]);
    assert.match(problems[0]?.message ?? "", /"tls\.key"/);
  });
});

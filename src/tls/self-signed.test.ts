// Self-signed certificate generator: Node's (OpenSSL's) X.509 parser must accept
// the result and see exactly the subject, names, key and validity asked for.
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { describe, it } from "node:test";
import { generateSelfSignedCertificate } from "./self-signed.ts";

const NOW = new Date("2030-06-01T12:00:00Z");
const DAY_MS = 86_400_000;

void describe("generateSelfSignedCertificate", () => {
  void it("makes a parseable ECDSA P-256 certificate signed by its own key", () => {
    const pem = generateSelfSignedCertificate({ commonName: "turnout-default", now: NOW, randomBytes: (n) => Buffer.alloc(n, 0xff) });
    const cert = new X509Certificate(pem.cert);
    const key = createPrivateKey(pem.key);
    assert.equal(cert.checkPrivateKey(key), true);
    assert.equal(cert.verify(cert.publicKey), true);
    assert.equal(cert.subject, "CN=turnout-default");
    assert.equal(cert.issuer, "CN=turnout-default");
    assert.equal(cert.subjectAltName, "DNS:turnout-default");
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    assert.equal(cert.publicKey.asymmetricKeyType, "ec");
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.equal(cert.validFromDate.getTime(), NOW.getTime() - 3_600_000);
    assert.equal(cert.validToDate.getTime(), NOW.getTime() + 365 * DAY_MS);
    // High bit cleared (positive), next bit set (constant length).
    assert.equal(cert.serialNumber, `7F${"FF".repeat(15)}`);
  });

  void it("names every requested DNS name, wildcards included, and matches hosts by them", () => {
    const pem = generateSelfSignedCertificate({ commonName: "example", dnsNames: ["example.com", "*.example.com"], now: NOW });
    const cert = new X509Certificate(pem.cert);
    assert.equal(cert.subjectAltName, "DNS:example.com, DNS:*.example.com");
    assert.equal(cert.checkHost("a.example.com"), "*.example.com");
    assert.equal(cert.checkHost("example.com"), "example.com");
    assert.equal(cert.checkHost("a.b.example.com"), undefined);
  });

  void it("a key from another generation does not match", () => {
    const a = generateSelfSignedCertificate({ commonName: "a", now: NOW });
    const b = generateSelfSignedCertificate({ commonName: "a", now: NOW });
    assert.equal(new X509Certificate(a.cert).checkPrivateKey(createPrivateKey(b.key)), false);
    assert.equal(new X509Certificate(a.cert).verify(new X509Certificate(b.cert).publicKey), false);
  });

  void it("writes validity ending in 2050 or later as GeneralizedTime that parses", () => {
    const now = new Date("2049-12-01T00:00:00Z");
    const cert = new X509Certificate(generateSelfSignedCertificate({ commonName: "late", now, validityDays: 60 }).cert);
    assert.equal(cert.validToDate.toISOString(), "2050-01-30T00:00:00.000Z");
  });

  void it("refuses names that are not DNS names", () => {
    assert.throws(() => generateSelfSignedCertificate({ commonName: "x", dnsNames: ["bad name"] }), /not a DNS name/);
    assert.throws(() => generateSelfSignedCertificate({ commonName: "x", dnsNames: ["a.*.example.com"] }), /not a DNS name/);
  });
});

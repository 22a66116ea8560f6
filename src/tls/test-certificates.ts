// Test-only: TLS Secrets and certificates made at test time, with turnout's own
// generator and, for independently made material (RSA, CA-signed), the openssl CLI.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Secret } from "../store/index.ts";
import { generateSelfSignedCertificate } from "./self-signed.ts";
import type { CertificatePem } from "./self-signed.ts";

export function selfSigned(commonName: string, dnsNames: readonly string[] = [commonName], now?: Date, validityDays?: number): CertificatePem {
  return generateSelfSignedCertificate({
    commonName,
    dnsNames,
    ...(now ? { now } : {}),
    ...(validityDays !== undefined ? { validityDays } : {}),
  });
}

export function tlsSecret(key: string, data: Record<string, string>, resourceVersion = "1"): Secret {
  const [namespace = "", name = ""] = key.split("/");
  return {
    kind: "Secret",
    meta: { namespace, name, uid: `uid-${namespace}-${name}`, resourceVersion, generation: 0, creationTimestamp: "", labels: {}, annotations: {} },
    type: "kubernetes.io/tls",
    data,
  };
}

export function secretOf(key: string, pem: CertificatePem, resourceVersion = "1"): Secret {
  return tlsSecret(key, { "tls.crt": pem.cert, "tls.key": pem.key }, resourceVersion);
}

/** SHA-256 fingerprint in the form TLSSocket.getPeerCertificate() reports it. */
export function fingerprint(pem: CertificatePem): string {
  return new X509Certificate(pem.cert).fingerprint256;
}

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[wildcard_ext]
subjectAltName = DNS:*.example.com
[leaf_ext]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:secure.example.com
`;

function withOpenssl<T>(work: (run: (...args: string[]) => void, file: (name: string) => string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "turnout-tls-"));
  try {
    writeFileSync(join(dir, "openssl.cnf"), OPENSSL_CONFIG);
    const run = (...args: string[]): void => {
      execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    };
    return work(run, (name) => join(dir, name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An RSA certificate for *.example.com, made by openssl. */
export function opensslWildcardRsa(): CertificatePem {
  return withOpenssl((run, file) => {
    run("req", "-x509", "-config", "openssl.cnf", "-extensions", "wildcard_ext", "-newkey", "rsa:2048", "-nodes",
      "-keyout", "key.pem", "-out", "cert.pem", "-days", "30", "-subj", "/CN=*.example.com");
    return { cert: readFileSync(file("cert.pem"), "utf8"), key: readFileSync(file("key.pem"), "utf8") };
  });
}

/** A CA and a leaf for secure.example.com it signed, made by openssl. */
export function opensslCaSigned(): { ca: string; leaf: CertificatePem } {
  return withOpenssl((run, file) => {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run("req", "-x509", "-config", "openssl.cnf", "-extensions", "ca_ext", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=turnout test CA");
    run("req", "-new", "-config", "openssl.cnf", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=secure.example.com");
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "2", "-days", "30",
      "-extfile", "openssl.cnf", "-extensions", "leaf_ext", "-out", "leaf.crt");
    return {
      ca: readFileSync(file("ca.crt"), "utf8"),
      leaf: { cert: readFileSync(file("leaf.crt"), "utf8"), key: readFileSync(file("leaf.key"), "utf8") },
    };
  });
}

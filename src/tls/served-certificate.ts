// ServedCertificate: a validated certificate + key with its ready TLS context.
// Loading a Secret checks everything a handshake would trip over, so a bad
// Secret becomes a message instead of a failed handshake.
import { X509Certificate, createPrivateKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { SecureContext, SecureContextOptions } from "node:tls";
import type { Secret } from "../store/index.ts";
import { objectKey } from "../store/index.ts";
import type { CertificatePem } from "./self-signed.ts";

/** Applied to every context and to the server; TLS 1.0 and 1.1 are refused. */
export const SECURE_OPTIONS: Readonly<SecureContextOptions> = {
  minVersion: "TLSv1.2",
  honorCipherOrder: true,
};

export const TLS_CERT_KEY = "tls.crt";
export const TLS_KEY_KEY = "tls.key";

export interface ServedCertificate {
  /** "namespace/name" of the Secret, or "self-signed". */
  source: string;
  /** The Secret's resourceVersion ("" for the self-signed one). */
  resourceVersion: string;
  /** The leaf (first) certificate of the chain. */
  certificate: X509Certificate;
  pem: CertificatePem;
  context: SecureContext;
}

export type LoadResult = { ok: true; served: ServedCertificate } | { ok: false; message: string };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Validates PEM material and builds its context; `source` names it in messages. */
export function loadCertificate(source: string, resourceVersion: string, pem: CertificatePem): LoadResult {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem.cert);
  } catch (error) {
    return { ok: false, message: `${TLS_CERT_KEY} is not a PEM certificate (${errorText(error)})` };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.key);
  } catch (error) {
    return { ok: false, message: `${TLS_KEY_KEY} is not an unencrypted PEM private key (${errorText(error)})` };
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) return { ok: false, message: `${TLS_KEY_KEY} does not belong to the certificate in ${TLS_CERT_KEY}` };
  let context: SecureContext;
  try {
    context = createSecureContext({ ...SECURE_OPTIONS, cert: pem.cert, key: pem.key });
  } catch (error) {
    return { ok: false, message: `the certificate chain in ${TLS_CERT_KEY} cannot be used (${errorText(error)})` };
  }
  return { ok: true, served: { source, resourceVersion, certificate, pem, context } };
}

/** Loads a TLS Secret (`tls.crt` + `tls.key`, as kubernetes.io/tls Secrets hold them). */
export function loadTlsSecret(secret: Secret): LoadResult {
  const cert = secret.data[TLS_CERT_KEY] ?? "";
  const key = secret.data[TLS_KEY_KEY] ?? "";
  const missing = [cert === "" ? TLS_CERT_KEY : "", key === "" ? TLS_KEY_KEY : ""].filter((k) => k !== "");
  if (missing.length > 0) {
    return {
      ok: false,
      message: `missing or empty data key${missing.length > 1 ? "s" : ""} ${missing.map((k) => JSON.stringify(k)).join(" and ")} (Secret type ${JSON.stringify(secret.type)})`,
    };
  }
  return loadCertificate(objectKey(secret.meta), secret.meta.resourceVersion, { cert, key });
}

/** True when the certificate's notAfter has passed (it is still served; clients decide). */
export function isExpired(served: ServedCertificate, now: Date): boolean {
  return served.certificate.validToDate.getTime() < now.getTime();
}

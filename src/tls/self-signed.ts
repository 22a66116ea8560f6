// Generates the self-signed ECDSA P-256 certificate served when no default
// certificate Secret is configured. Node can parse X.509 but not write it, so
// the TBSCertificate is assembled with the small DER writer in der.ts.
import { generateKeyPairSync, randomBytes as cryptoRandomBytes, sign } from "node:crypto";
import * as der from "./der.ts";

export interface CertificatePem {
  /** PEM "CERTIFICATE". */
  cert: string;
  /** PEM PKCS#8 "PRIVATE KEY". */
  key: string;
}

export interface SelfSignedOptions {
  commonName: string;
  /** subjectAltName DNS entries; default: [commonName]. */
  dnsNames?: readonly string[];
  /** Start of validity (less one hour for clock skew); default: now. */
  now?: Date;
  validityDays?: number;
  /** Source of the serial number; injectable for reproducible tests. */
  randomBytes?: (size: number) => Buffer;
}

export const DEFAULT_CERTIFICATE_NAME = "turnout-default";

const OID = {
  commonName: "2.5.4.3",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DNS_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

function name(commonName: string): Buffer {
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? der.sequence(der.oid(id), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(id), der.octetString(value));
}

function toPem(label: string, body: Buffer): string {
  const lines = body.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export function generateSelfSignedCertificate(options: SelfSignedOptions): CertificatePem {
  const dnsNames = options.dnsNames ?? [options.commonName];
  for (const dnsName of dnsNames) {
    if (!DNS_NAME.test(dnsName)) throw new RangeError(`not a DNS name for subjectAltName: ${JSON.stringify(dnsName)}`);
  }
  const now = options.now ?? new Date();
  const validityDays = options.validityDays ?? 365;
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

  // RFC 5280: positive, at most 20 octets, unpredictable. The fixed second-highest bit keeps the length constant.
  const serial = Buffer.from((options.randomBytes ?? cryptoRandomBytes)(16));
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;

  const signatureAlgorithm = der.sequence(der.oid(OID.ecdsaWithSha256));
  const subject = name(options.commonName);
  const extensions = der.sequence(
    extension(OID.basicConstraints, true, der.sequence()),
    extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth))),
    extension(OID.subjectAltName, false, der.sequence(...dnsNames.map((n) => der.implicitPrimitive(2, Buffer.from(n, "ascii"))))),
  );
  const tbsCertificate = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    signatureAlgorithm,
    subject, // issuer: self-signed
    der.sequence(der.x509Time(new Date(now.getTime() - HOUR_MS)), der.x509Time(new Date(now.getTime() + validityDays * DAY_MS))),
    subject,
    publicKey.export({ type: "spki", format: "der" }),
    der.explicit(3, extensions),
  );
  // With an EC key Node signs in DER (ECDSA-Sig-Value), the form X.509 requires.
  const signature = sign("sha256", tbsCertificate, privateKey);
  const certificate = der.sequence(tbsCertificate, signatureAlgorithm, der.bitString(signature));
  return {
    cert: toPem("CERTIFICATE", certificate),
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

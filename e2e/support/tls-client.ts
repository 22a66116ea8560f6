// What a TLS client sees of turnout's HTTPS listener: the certificate presented for an
// SNI name, compared by SHA-256 fingerprint.
import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";

export interface PresentedCertificate {
  subject: string;
  fingerprint: string;
}

/** The certificate turnout presents on `port` for `servername`. */
export function presentedCertificate(port: number, servername: string): Promise<PresentedCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false }, () => {
      const peer = socket.getPeerX509Certificate();
      resolve({ subject: peer?.subject ?? "", fingerprint: peer?.fingerprint256 ?? "" });
      socket.end();
    });
    socket.on("error", reject);
  });
}

/** The SHA-256 fingerprint of a PEM certificate, as `presentedCertificate` reports it. */
export function fingerprintOf(pem: { cert: string }): string {
  return new X509Certificate(pem.cert).fingerprint256;
}

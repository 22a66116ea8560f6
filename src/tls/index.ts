// tls: TLS termination. Sits between routing and proxy in the data flow: reads the
// RouteTable's host -> Secret names and the Secrets, serves certificates by SNI on
// the HTTPS listener the proxy attaches to. May import src/routing and src/store only.
export type { CertificateIndex, CertificateIndexInput, CertificateIndexResult, TlsProblem, TlsProblemReason } from "./certificate-index.ts";
export { buildCertificateIndex, selectCertificate } from "./certificate-index.ts";
export type { LoadResult, ServedCertificate } from "./served-certificate.ts";
export { SECURE_OPTIONS, isExpired, loadCertificate, loadTlsSecret } from "./served-certificate.ts";
export type { CertificatePem, SelfSignedOptions } from "./self-signed.ts";
export { DEFAULT_CERTIFICATE_NAME, generateSelfSignedCertificate } from "./self-signed.ts";
export type { TlsServerOptions, TlsUpdate } from "./tls-server.ts";
export { TlsServer } from "./tls-server.ts";
export { HTTPS_REDIRECT_STATUS, httpsRedirectLocation } from "./https-redirect.ts";

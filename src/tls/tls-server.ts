// TlsServer: the HTTPS listener. Its SNICallback reads the current
// CertificateIndex, which update() replaces by one reference swap, so new
// handshakes get rotated certificates while open connections keep theirs.
import https from "node:https";
import type { ServerOptions } from "node:http";
import type { SecureContext } from "node:tls";
import type { RouteTable } from "../routing/index.ts";
import type { Secret } from "../store/index.ts";
import { objectKey } from "../store/index.ts";
import { buildCertificateIndex, selectCertificate } from "./certificate-index.ts";
import type { CertificateIndex, TlsProblem } from "./certificate-index.ts";
import { DEFAULT_CERTIFICATE_NAME, generateSelfSignedCertificate } from "./self-signed.ts";
import type { CertificatePem } from "./self-signed.ts";
import { SECURE_OPTIONS, TLS_CERT_KEY, TLS_KEY_KEY, loadCertificate, loadTlsSecret } from "./served-certificate.ts";
import type { LoadResult, ServedCertificate } from "./served-certificate.ts";

export interface TlsServerOptions {
  /** --default-ssl-certificate: served for unknown SNI names and clients without SNI. */
  defaultSecret?: { namespace: string; name: string } | undefined;
  /** The certificate served when no usable default Secret exists; default: generated (ECDSA P-256, one year). */
  selfSigned?: CertificatePem;
  now?: () => Date;
  /** node:http settings of the listener (timeouts and the like), shared with the HTTP listener by the caller. */
  listener?: ServerOptions;
}

export interface TlsUpdate {
  /** Problems of this update (the whole current set, not only new ones). */
  problems: TlsProblem[];
  /** True when some SNI name or the default now gets a different certificate. */
  changed: boolean;
}

interface CachedLoad {
  resourceVersion: string;
  cert: string | undefined;
  key: string | undefined;
  result: LoadResult;
}

function sameIndex(a: CertificateIndex, b: CertificateIndex): boolean {
  const sameMap = (x: ReadonlyMap<string, ServedCertificate>, y: ReadonlyMap<string, ServedCertificate>): boolean =>
    x.size === y.size && [...x].every(([host, served]) => y.get(host) === served);
  return a.fallback === b.fallback && sameMap(a.exact, b.exact) && sameMap(a.wildcard, b.wildcard);
}

export class TlsServer {
  readonly server: https.Server;
  readonly #defaultSecret: { namespace: string; name: string } | undefined;
  readonly #selfSigned: ServedCertificate;
  readonly #now: () => Date;
  /** Parsed Secrets by "namespace/name"; reused while resourceVersion (or the PEM data) is unchanged. */
  readonly #cache = new Map<string, CachedLoad>();
  #index: CertificateIndex;
  #problems: TlsProblem[] = [];

  constructor(options: TlsServerOptions = {}) {
    this.#defaultSecret = options.defaultSecret;
    this.#now = options.now ?? (() => new Date());
    const pem = options.selfSigned ?? generateSelfSignedCertificate({ commonName: DEFAULT_CERTIFICATE_NAME, now: this.#now() });
    const loaded = loadCertificate("self-signed", "", pem);
    if (!loaded.ok) throw new Error(`self-signed certificate unusable: ${loaded.message}`);
    this.#selfSigned = loaded.served;
    this.#index = { exact: new Map(), wildcard: new Map(), fallback: this.#selfSigned };
    this.server = https.createServer({
      ...SECURE_OPTIONS,
      // The server's own context serves clients that send no SNI; SNICallback covers the rest.
      cert: pem.cert,
      key: pem.key,
      SNICallback: (serverName: string, callback: (error: Error | null, context?: SecureContext) => void) => {
        callback(null, selectCertificate(this.#index, serverName).context);
      },
      // A client must finish the TLS handshake within this time.
      handshakeTimeout: 10_000,
      ...options.listener,
    });
  }

  /** The index handshakes read now (for /debug views and tests). */
  get index(): CertificateIndex {
    return this.#index;
  }

  get problems(): readonly TlsProblem[] {
    return this.#problems;
  }

  /** Call after every table publish and on every Secret change; cheap when nothing changed. */
  update(table: RouteTable | undefined, secrets: readonly Secret[]): TlsUpdate {
    const result = buildCertificateIndex({
      table,
      secrets,
      defaultSecret: this.#defaultSecret,
      selfSigned: this.#selfSigned,
      load: (secret) => this.#load(secret),
      now: this.#now(),
    });
    for (const key of this.#cache.keys()) if (!result.secretsUsed.has(key)) this.#cache.delete(key);
    const previous = this.#index;
    const changed = !sameIndex(previous, result.index);
    if (result.index.fallback !== previous.fallback) {
      // Clients without SNI get the server's own context; SNICallback is not called for them.
      this.server.setSecureContext({ ...SECURE_OPTIONS, cert: result.index.fallback.pem.cert, key: result.index.fallback.pem.key });
    }
    this.#index = result.index;
    this.#problems = result.problems;
    return { problems: result.problems, changed };
  }

  #load(secret: Secret): LoadResult {
    const key = objectKey(secret.meta);
    const { resourceVersion } = secret.meta;
    const cert = secret.data[TLS_CERT_KEY];
    const privateKey = secret.data[TLS_KEY_KEY];
    const cached = this.#cache.get(key);
    if (cached && ((resourceVersion !== "" && cached.resourceVersion === resourceVersion) || (cached.cert === cert && cached.key === privateKey))) {
      return cached.result;
    }
    const result = loadTlsSecret(secret);
    this.#cache.set(key, { resourceVersion, cert, key: privateKey, result });
    return result;
  }
}


// CertificateIndex: which certificate a TLS handshake gets, decided from data
// alone: the route table's host -> Secret names, the Secrets, the default. A
// Secret that is missing or broken costs only its own hosts (they get the
// default certificate) and yields a TlsProblem for the Ingresses concerned.
import type { Diagnostic, HostRoutes, RouteTable } from "../routing/index.ts";
import { wildcardKeyOf } from "../routing/index.ts";
import type { Secret } from "../store/index.ts";
import { objectKey } from "../store/index.ts";
import type { LoadResult, ServedCertificate } from "./served-certificate.ts";
import { isExpired } from "./served-certificate.ts";

export interface CertificateIndex {
  /** Lower-case SNI host -> certificate. */
  exact: ReadonlyMap<string, ServedCertificate>;
  /** Wildcard suffix without "*." -> certificate; covers exactly one more label. */
  wildcard: ReadonlyMap<string, ServedCertificate>;
  /** No SNI, or an SNI name no TLS host covers, or a host whose Secret is unusable. */
  fallback: ServedCertificate;
}

export type TlsProblemReason = "TLSSecretNotFound" | "TLSSecretInvalid" | "TLSCertificateExpired";

/** A Diagnostic (so the reporter can log it and raise the Warning Event) plus what it is about. */
export interface TlsProblem extends Diagnostic {
  reason: TlsProblemReason;
  /** "namespace/name" of the Secret concerned. */
  secret: string;
  /** TLS hosts served by that Secret ("*.example.com" for wildcards); empty for the default certificate. */
  hosts: string[];
}

export interface CertificateIndexInput {
  table: RouteTable | undefined;
  secrets: readonly Secret[];
  /** --default-ssl-certificate, if given. */
  defaultSecret?: { namespace: string; name: string } | undefined;
  /** Served when no default Secret is given or it is unusable. */
  selfSigned: ServedCertificate;
  /** Validates a Secret; the caller may memoise it (by resourceVersion). */
  load: (secret: Secret) => LoadResult;
  now: Date;
}

export interface CertificateIndexResult {
  index: CertificateIndex;
  /** Sorted by ref, then reason, then Secret. */
  problems: TlsProblem[];
  /** Keys ("namespace/name") of the Secrets the index reads. */
  secretsUsed: Set<string>;
}

interface SecretUse {
  hosts: string[];
  /** "namespace/name" of Ingresses that route these hosts. */
  ingresses: Set<string>;
}

function ingressesRouting(routes: HostRoutes): Set<string> {
  const sources = new Set<string>();
  const groups = [...routes.exact.values(), ...routes.prefix.values(), ...(routes.fallback ? [routes.fallback] : [])];
  for (const group of groups) {
    for (const member of [...group.conditioned, ...group.weighted]) sources.add(objectKey(member.source));
  }
  return sources;
}

/** TLS hosts of the table grouped by Secret, in a stable order. */
function secretUses(table: RouteTable | undefined): Map<string, SecretUse> {
  const uses = new Map<string, SecretUse>();
  if (!table) return uses;
  // Most hosts of a large table have no TLS: pick those that do before sorting.
  const tlsHosts: [string, HostRoutes][] = [];
  for (const [host, routes] of table.exactHosts) if (routes.tlsSecret !== undefined) tlsHosts.push([host, routes]);
  for (const [suffix, routes] of table.wildcardHosts) if (routes.tlsSecret !== undefined) tlsHosts.push([`*.${suffix}`, routes]);
  tlsHosts.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [host, routes] of tlsHosts) {
    if (routes.tlsSecret === undefined) continue;
    let use = uses.get(routes.tlsSecret);
    if (!use) {
      use = { hosts: [], ingresses: new Set() };
      uses.set(routes.tlsSecret, use);
    }
    use.hosts.push(host);
    for (const ingress of ingressesRouting(routes)) use.ingresses.add(ingress);
  }
  return uses;
}

function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Events go to the Ingresses in the Secret's namespace (spec.tls names Secrets of its own namespace). */
function problemRefs(secretKey: string, use: SecretUse): Diagnostic["ref"][] {
  const { namespace } = splitKey(secretKey);
  const all = [...use.ingresses].sort();
  const own = all.filter((key) => splitKey(key).namespace === namespace);
  const chosen = own.length > 0 ? own : all;
  if (chosen.length === 0) return [{ kind: "Secret", ...splitKey(secretKey) }];
  return chosen.map((key) => ({ kind: "Ingress", ...splitKey(key) }));
}

function hostList(hosts: readonly string[]): string {
  return hosts.join(", ");
}

/** Secrets of other types are not read (docs/tls.md): a Secret that exists with type Opaque is "not found" too. */
const ONLY_TLS_TYPE = "(turnout reads only Secrets of type kubernetes.io/tls)";

export function buildCertificateIndex(input: CertificateIndexInput): CertificateIndexResult {
  // The cluster source watches only TLS Secrets; the folder source holds whatever the files define.
  const secretsByKey = new Map(input.secrets.filter((s) => s.type === "kubernetes.io/tls").map((s) => [objectKey(s.meta), s]));
  const problems: TlsProblem[] = [];
  const secretsUsed = new Set<string>();

  let fallback = input.selfSigned;
  if (input.defaultSecret) {
    const key = objectKey(input.defaultSecret);
    secretsUsed.add(key);
    const ref = { kind: "Secret", namespace: input.defaultSecret.namespace, name: input.defaultSecret.name };
    const flagged = `default certificate Secret ${JSON.stringify(key)} (--default-ssl-certificate)`;
    const report = (reason: TlsProblemReason, message: string): void => {
      problems.push({ ref, severity: "Warning", reason, message, secret: key, hosts: [] });
    };
    const secret = secretsByKey.get(key);
    const loaded = secret ? input.load(secret) : undefined;
    if (!loaded) {
      report("TLSSecretNotFound", `${flagged} not found ${ONLY_TLS_TYPE}; serving the self-signed certificate instead`);
    } else if (!loaded.ok) {
      report("TLSSecretInvalid", `${flagged} is unusable: ${loaded.message}; serving the self-signed certificate instead`);
    } else {
      fallback = loaded.served;
      if (isExpired(fallback, input.now)) {
        report("TLSCertificateExpired", `${flagged} expired at ${fallback.certificate.validToDate.toISOString()}; it is still served`);
      }
    }
  }

  const exact = new Map<string, ServedCertificate>();
  const wildcard = new Map<string, ServedCertificate>();
  for (const [secretKey, use] of secretUses(input.table)) {
    secretsUsed.add(secretKey);
    const secret = secretsByKey.get(secretKey);
    const loaded = secret ? input.load(secret) : undefined;
    const served = loaded?.ok ? loaded.served : fallback;
    for (const host of use.hosts) {
      if (host.startsWith("*.")) wildcard.set(host.slice(2), served);
      else exact.set(host, served);
    }
    const hosts = hostList(use.hosts);
    let problem: Pick<TlsProblem, "reason" | "message"> | undefined;
    if (!loaded) {
      problem = {
        reason: "TLSSecretNotFound",
        message: `TLS Secret ${JSON.stringify(secretKey)} not found ${ONLY_TLS_TYPE}; HTTPS for ${hosts} uses the default certificate until it exists`,
      };
    } else if (!loaded.ok) {
      problem = {
        reason: "TLSSecretInvalid",
        message: `TLS Secret ${JSON.stringify(secretKey)} is unusable: ${loaded.message}; HTTPS for ${hosts} uses the default certificate`,
      };
    } else if (isExpired(loaded.served, input.now)) {
      const expiredAt = loaded.served.certificate.validToDate.toISOString();
      problem = {
        reason: "TLSCertificateExpired",
        message: `TLS Secret ${JSON.stringify(secretKey)} holds a certificate that expired at ${expiredAt}; it is still served for ${hosts}`,
      };
    }
    if (problem) {
      for (const ref of problemRefs(secretKey, use)) {
        problems.push({ ref, severity: "Warning", secret: secretKey, hosts: [...use.hosts], ...problem });
      }
    }
  }

  problems.sort((a, b) => compareProblems(a, b));
  return { index: { exact, wildcard, fallback }, problems, secretsUsed };
}

function compareProblems(a: TlsProblem, b: TlsProblem): number {
  const ka = `${a.ref.kind}\0${a.ref.namespace}\0${a.ref.name}\0${a.reason}\0${a.secret}`;
  const kb = `${b.ref.kind}\0${b.ref.namespace}\0${b.ref.name}\0${b.reason}\0${b.secret}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The certificate for a ClientHello's server_name (undefined/"" when the client sent none). */
export function selectCertificate(index: CertificateIndex, serverName: string | undefined): ServedCertificate {
  if (serverName === undefined || serverName === "") return index.fallback;
  const host = (serverName.endsWith(".") ? serverName.slice(0, -1) : serverName).toLowerCase();
  const suffix = wildcardKeyOf(host);
  return index.exact.get(host) ?? (suffix !== undefined ? index.wildcard.get(suffix) : undefined) ?? index.fallback;
}

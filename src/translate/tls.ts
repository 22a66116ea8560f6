// TLS: names the Secret (namespace/name) that serves a routed host. The Secret
// itself is loaded, and a missing or broken one reported, by the TLS stage
// (src/tls/); the routes stay. On conflicting Secrets for one host the oldest Ingress wins.
import type { Diagnostic } from "../routing/index.ts";
import { ingressDiagnostic } from "./diagnostics.ts";
import type { IngressExpansion } from "./ingress-expansion.ts";

/** `contributors` oldest first; the Secret for `hostKey`, conflicts reported. */
export function tlsSecretFor(hostKey: string, contributors: readonly IngressExpansion[], diagnostics: Diagnostic[]): string | undefined {
  let secret: string | undefined;
  let owner: string | undefined;
  for (const { source, tls } of contributors) {
    for (const claim of tls) {
      if (claim.host !== hostKey) continue;
      if (secret === undefined) {
        secret = claim.secretKey;
        owner = source.key;
      } else if (secret !== claim.secretKey) {
        diagnostics.push(
          ingressDiagnostic(
            source.ingress.meta,
            "Warning",
            "TLSSecretConflict",
            `tls Secret ${JSON.stringify(claim.secretKey)} for host ${JSON.stringify(hostKey)} is not used: Ingress ` +
              `${owner ?? "?"} was created earlier (or sorts first by namespace/name) and names ${JSON.stringify(secret)}`,
          ),
        );
      }
    }
  }
  return secret;
}

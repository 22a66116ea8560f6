// TLS: names the Secret (namespace/name) that serves each routed host. The Secret
// itself is loaded, and a missing or broken one reported, by the TLS stage
// (src/tls/); the routes stay. On conflicting Secrets for one host the oldest Ingress wins.
import type { Diagnostic, HostRoutes } from "../routing/index.ts";
import { objectKey } from "../store/index.ts";
import { ingressDiagnostic } from "./diagnostics.ts";
import type { UsableIngress } from "./ingress-versions.ts";

/** `usable` oldest first; sets `tlsSecret` on entries of `hostsByKey` (rule host keys). */
export function assignTlsSecrets(
  usable: readonly UsableIngress[],
  hostsByKey: ReadonlyMap<string, HostRoutes>,
  diagnostics: Diagnostic[],
): void {
  const owners = new Map<string, string>();
  for (const { key, ingress } of usable) {
    for (const tls of ingress.tls) {
      if (tls.secretName === undefined || tls.secretName === "") continue;
      const secretKey = objectKey({ namespace: ingress.meta.namespace, name: tls.secretName });
      for (const rawHost of tls.hosts) {
        const host = rawHost.toLowerCase();
        const routes = hostsByKey.get(host);
        if (!routes) continue;
        if (routes.tlsSecret === undefined) {
          routes.tlsSecret = secretKey;
          owners.set(host, key);
        } else if (routes.tlsSecret !== secretKey) {
          diagnostics.push(
            ingressDiagnostic(
              ingress.meta,
              "Warning",
              "TLSSecretConflict",
              `tls Secret ${JSON.stringify(secretKey)} for host ${JSON.stringify(host)} is not used: Ingress ` +
                `${owners.get(host) ?? "?"} was created earlier (or sorts first by namespace/name) and names ` +
                `${JSON.stringify(routes.tlsSecret)}`,
            ),
          );
          continue;
        }
      }
    }
  }
}

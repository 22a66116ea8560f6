// Building, de-duplicating and ordering translation diagnostics.
import type { Diagnostic, Severity } from "../routing/index.ts";
import { compareStrings } from "./ordering.ts";

export function ingressDiagnostic(
  meta: { namespace: string; name: string },
  severity: Severity,
  reason: string,
  message: string,
): Diagnostic {
  return { ref: { kind: "Ingress", namespace: meta.namespace, name: meta.name }, severity, reason, message };
}

function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    compareStrings(a.ref.kind, b.ref.kind) ||
    compareStrings(a.ref.namespace, b.ref.namespace) ||
    compareStrings(a.ref.name, b.ref.name) ||
    compareStrings(a.reason, b.reason) ||
    compareStrings(a.message, b.message) ||
    compareStrings(a.severity, b.severity)
  );
}

/** Sorted by object, reason and message, exact duplicates removed. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const sorted = [...diagnostics].sort(compareDiagnostics);
  return sorted.filter((d, i) => i === 0 || compareDiagnostics(d, sorted[i - 1] as Diagnostic) !== 0);
}

/** `"/foo" (Prefix) of host "a.example.com"`: how messages name a rule path. */
export function describeRulePath(host: string, path: string | undefined, pathType: string): string {
  const hostText = host === "" ? "any host" : `host ${JSON.stringify(host)}`;
  return `path ${JSON.stringify(path ?? "")} (${pathType || "no pathType"}) of ${hostText}`;
}

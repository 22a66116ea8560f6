// Picks the version of each of our Ingresses that translation uses: the current one
// when its turnout.dev/* annotations are valid, else the last accepted one, else
// none. Annotation problems become diagnostics here.
import { ANNOTATION_NAMES } from "../config/annotation-schemas.ts";
import type { IngressAnnotations } from "../config/annotations.ts";
import { ANNOTATION_PREFIX, formatAnnotationProblem, parseIngressAnnotations } from "../config/annotations.ts";
import type { Diagnostic } from "../routing/index.ts";
import type { Ingress } from "../store/index.ts";
import { objectKey } from "../store/index.ts";
import { ingressDiagnostic } from "./diagnostics.ts";
import type { OwnershipTest } from "./ingress-class.ts";

/** An Ingress version that takes part in translation, with its parsed annotations. */
export interface UsableIngress {
  /** namespace/name */
  key: string;
  ingress: Ingress;
  annotations: IngressAnnotations;
}

/** Which version of one of our Ingresses translation uses. */
export interface IngressVersion {
  /** The current version when its annotations are valid, else the last accepted one, else none. */
  usable: UsableIngress | undefined;
  /** The current version is used. */
  accepted: boolean;
  /** The current annotations are invalid, so the last accepted version (this one, or none) was consulted. */
  consulted: { lastAccepted: Ingress | undefined } | undefined;
  diagnostics: Diagnostic[];
}

const KNOWN_ANNOTATIONS: ReadonlySet<string> = new Set(ANNOTATION_NAMES.map((name) => ANNOTATION_PREFIX + name));

/**
 * The parse of an annotations object, remembered while that object lives: store
 * objects are replaced, never mutated, so an unchanged Ingress is parsed once, not
 * on every rebuild. The result is immutable data, safe to share between tables.
 */
const parsedAnnotations = new WeakMap<Readonly<Record<string, string>>, ReturnType<typeof parseIngressAnnotations>>();

function parseAnnotations(annotations: Readonly<Record<string, string>>): ReturnType<typeof parseIngressAnnotations> {
  let parsed = parsedAnnotations.get(annotations);
  if (!parsed) {
    parsed = parseIngressAnnotations(annotations);
    parsedAnnotations.set(annotations, parsed);
  }
  return parsed;
}

/**
 * One UsableIngress per Ingress version: its parsed annotations follow from the
 * object, and a stable identity lets translation reuse what it derived from it.
 */
const usableVersions = new WeakMap<Ingress, UsableIngress>();

function usableVersion(ingress: Ingress, annotations: IngressAnnotations): UsableIngress {
  let usable = usableVersions.get(ingress);
  if (!usable) {
    usable = { key: objectKey(ingress.meta), ingress, annotations };
    usableVersions.set(ingress, usable);
  }
  return usable;
}

/** Parser warnings are about unknown keys, or known annotations that have no effect as combined. */
function warningReason(annotation: string): string {
  return KNOWN_ANNOTATIONS.has(annotation) ? "IgnoredAnnotation" : "UnknownAnnotation";
}

/**
 * `current` is the current version of one of our Ingresses. Its `lastAccepted`
 * version is used only if it is still ours and its annotations still parse.
 */
export function chooseIngressVersion(current: Ingress, lastAccepted: Ingress | undefined, isOurs: OwnershipTest): IngressVersion {
  const diagnostics: Diagnostic[] = [];
  const parsed = parseAnnotations(current.meta.annotations);
  for (const warning of parsed.warnings) {
    diagnostics.push(ingressDiagnostic(current.meta, "Warning", warningReason(warning.annotation), formatAnnotationProblem(warning)));
  }
  if (parsed.ok) return { usable: usableVersion(current, parsed.value), accepted: true, consulted: undefined, diagnostics };

  const previousParsed = lastAccepted && isOurs(lastAccepted) ? parseAnnotations(lastAccepted.meta.annotations) : undefined;
  const fallback = lastAccepted && previousParsed?.ok === true ? usableVersion(lastAccepted, previousParsed.value) : undefined;
  const consequence = fallback
    ? `; still serving the last accepted version (resourceVersion ${JSON.stringify(fallback.ingress.meta.resourceVersion)}) until this is fixed`
    : "; this Ingress is left out until this is fixed";
  for (const error of parsed.errors) {
    diagnostics.push(ingressDiagnostic(current.meta, "Warning", "InvalidAnnotation", formatAnnotationProblem(error) + consequence));
  }
  return { usable: fallback, accepted: false, consulted: { lastAccepted }, diagnostics };
}

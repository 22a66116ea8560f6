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

export interface IngressVersions {
  /** In the order of `owned` (the caller sorts). */
  usable: UsableIngress[];
  /** namespace/name of Ingresses whose current version is used, in the order of `owned`. */
  accepted: string[];
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
 * `owned` are the current versions of our Ingresses. `lastAccepted` versions are
 * used only if they are still ours and their annotations still parse.
 */
export function chooseIngressVersions(
  owned: readonly Ingress[],
  lastAccepted: ReadonlyMap<string, Ingress>,
  isOurs: OwnershipTest,
  diagnostics: Diagnostic[],
): IngressVersions {
  const usable: UsableIngress[] = [];
  const accepted: string[] = [];

  for (const current of owned) {
    const parsed = parseAnnotations(current.meta.annotations);
    for (const warning of parsed.warnings) {
      diagnostics.push(
        ingressDiagnostic(current.meta, "Warning", warningReason(warning.annotation), formatAnnotationProblem(warning)),
      );
    }
    if (parsed.ok) {
      const version = usableVersion(current, parsed.value);
      usable.push(version);
      accepted.push(version.key);
      continue;
    }
    const key = objectKey(current.meta);

    const previous = lastAccepted.get(key);
    const previousParsed = previous && isOurs(previous) ? parseAnnotations(previous.meta.annotations) : undefined;
    const fallback =
      previous && previousParsed?.ok === true ? usableVersion(previous, previousParsed.value) : undefined;
    const consequence = fallback
      ? `; still serving the last accepted version (resourceVersion ${JSON.stringify(fallback.ingress.meta.resourceVersion)}) until this is fixed`
      : "; this Ingress is left out until this is fixed";
    for (const error of parsed.errors) {
      diagnostics.push(
        ingressDiagnostic(current.meta, "Warning", "InvalidAnnotation", formatAnnotationProblem(error) + consequence),
      );
    }
    if (fallback) usable.push(fallback);
  }

  return { usable, accepted };
}

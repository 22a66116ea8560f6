// Which Ingresses are ours: by ingressClassName naming one of our IngressClasses, by
// the legacy kubernetes.io/ingress.class annotation, or (no class at all) when one
// of our classes is the default or --watch-ingress-without-class is set.
import type { Ingress, IngressClass, TranslateSettings } from "../store/index.ts";

export const LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";

export type OwnershipTest = (ingress: Ingress) => boolean;

/** Builds the "is this Ingress ours?" test for one set of IngressClasses and settings. */
export function ownershipTest(classes: readonly IngressClass[], settings: TranslateSettings): OwnershipTest {
  const ourClasses = new Set<string>();
  let weAreDefault = false;
  for (const ingressClass of classes) {
    if (ingressClass.controller !== settings.controllerName) continue;
    ourClasses.add(ingressClass.meta.name);
    if (ingressClass.meta.annotations[DEFAULT_CLASS_ANNOTATION] === "true") weAreDefault = true;
  }
  const takeUnclassed = weAreDefault || settings.watchIngressWithoutClass;

  return (ingress) => {
    // An empty class name or annotation is treated as no class at all.
    if (ingress.ingressClassName !== undefined && ingress.ingressClassName !== "") {
      return ourClasses.has(ingress.ingressClassName);
    }
    const legacy = ingress.meta.annotations[LEGACY_CLASS_ANNOTATION];
    if (legacy !== undefined && legacy !== "") return legacy === settings.ingressClass;
    return takeUnclassed;
  };
}

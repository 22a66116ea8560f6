// The input of route translation: every object translation may read, frozen at
// one instant, plus the install-time settings that change what counts as ours.
import type { Ingress, IngressClass, Secret, Service } from "./objects.ts";

export interface TranslateSettings {
  /** --ingress-class: the class name we answer to (legacy annotation and our IngressClass). */
  ingressClass: string;
  /** The IngressClass spec.controller value that marks a class as ours. */
  controllerName: string;
  /** --watch-ingress-without-class */
  watchIngressWithoutClass: boolean;
  /** --default-backend-service ns/name:port */
  defaultBackendService?: { namespace: string; name: string; port: number | string };
}

export interface Snapshot {
  ingresses: readonly Ingress[];
  ingressClasses: readonly IngressClass[];
  services: readonly Service[];
  secrets: readonly Secret[];
  /**
   * The last version of each Ingress (by namespace/name) whose turnout.dev/*
   * annotations were valid and that this process served. Used when the current
   * version's annotations are invalid, so bad edits never drop working routes.
   */
  lastAccepted: ReadonlyMap<string, Ingress>;
  settings: TranslateSettings;
}

// Test-only builders of normalised cluster objects and snapshots, plus a helper
// that asks the built table where a request goes.
import { matchRoute } from "../routing/index.ts";
import type { RouteRequest, TranslationResult } from "../routing/index.ts";
import type {
  HTTPIngressPath,
  Ingress,
  IngressBackend,
  IngressClass,
  IngressRule,
  ObjectMeta,
  Secret,
  Service,
  Snapshot,
  TranslateSettings,
} from "../store/index.ts";

export const CONTROLLER = "turnout.dev/ingress-controller";

export const SETTINGS: TranslateSettings = {
  ingressClass: "turnout",
  controllerName: CONTROLLER,
  watchIngressWithoutClass: false,
};

function meta(namespace: string, name: string, created: string, annotations: Record<string, string> = {}): ObjectMeta {
  return {
    namespace,
    name,
    uid: `uid-${namespace}-${name}`,
    resourceVersion: "1",
    generation: 1,
    creationTimestamp: created,
    labels: {},
    annotations,
  };
}

/** `minute` makes ages easy to order: 2024-01-01T00:<minute>:00Z. */
export function at(minute: number): string {
  return `2024-01-01T00:${String(minute).padStart(2, "0")}:00Z`;
}

export function backend(service: string, port: number | string): IngressBackend {
  return { service: { name: service, port: typeof port === "number" ? { number: port } : { name: port } } };
}

export function path(pathText: string | undefined, pathType: string, to: IngressBackend): HTTPIngressPath {
  const p: HTTPIngressPath = { pathType, backend: to };
  if (pathText !== undefined) p.path = pathText;
  return p;
}

export function rule(host: string | undefined, ...paths: HTTPIngressPath[]): IngressRule {
  return host === undefined ? { paths } : { host, paths };
}

export interface IngressOptions {
  namespace?: string;
  created?: string;
  /** Default "turnout" (our IngressClass); null for none. */
  className?: string | null;
  annotations?: Record<string, string>;
  defaultBackend?: IngressBackend;
  tls?: Ingress["tls"];
  resourceVersion?: string;
}

export function ingress(name: string, rules: IngressRule[], options: IngressOptions = {}): Ingress {
  const result: Ingress = {
    kind: "Ingress",
    meta: meta(options.namespace ?? "default", name, options.created ?? at(0), options.annotations),
    tls: options.tls ?? [],
    rules,
    status: [],
  };
  if (options.resourceVersion !== undefined) result.meta.resourceVersion = options.resourceVersion;
  const className = options.className === undefined ? "turnout" : options.className;
  if (className !== null) result.ingressClassName = className;
  if (options.defaultBackend) result.defaultBackend = options.defaultBackend;
  return result;
}

/** A simple Ingress: one rule, one Prefix path. */
export function simpleIngress(name: string, host: string | undefined, pathText: string, service: string, options: IngressOptions = {}): Ingress {
  return ingress(name, [rule(host, path(pathText, "Prefix", backend(service, 80)))], options);
}

/** Ports: a number (unnamed) or [name, number]. */
export function service(name: string, ports: (number | [string, number])[] = [80], options: { namespace?: string; type?: string } = {}): Service {
  const result: Service = {
    kind: "Service",
    meta: meta(options.namespace ?? "default", name, at(0)),
    type: options.type ?? "ClusterIP",
    ports: ports.map((p) => (typeof p === "number" ? { name: "", port: p, protocol: "TCP" } : { name: p[0], port: p[1], protocol: "TCP" })),
    loadBalancerIngress: [],
  };
  if (result.type === "ExternalName") result.externalName = "example.org";
  return result;
}

export function ingressClass(name: string, controller = CONTROLLER, isDefault = false): IngressClass {
  const annotations: Record<string, string> = isDefault ? { "ingressclass.kubernetes.io/is-default-class": "true" } : {};
  return { kind: "IngressClass", meta: meta("", name, at(0), annotations), controller };
}

export function secret(name: string, namespace = "default"): Secret {
  return { kind: "Secret", meta: meta(namespace, name, at(0)), type: "kubernetes.io/tls", data: { "tls.crt": "x", "tls.key": "y" } };
}

export interface SnapshotInput {
  ingresses: Ingress[];
  services?: Service[];
  ingressClasses?: IngressClass[];
  secrets?: Secret[];
  lastAccepted?: Ingress[];
  settings?: Partial<TranslateSettings>;
}

export function snapshot(input: SnapshotInput): Snapshot {
  return {
    ingresses: input.ingresses,
    services: input.services ?? [],
    ingressClasses: input.ingressClasses ?? [ingressClass("turnout")],
    secrets: input.secrets ?? [],
    lastAccepted: new Map((input.lastAccepted ?? []).map((i) => [`${i.meta.namespace}/${i.meta.name}`, i])),
    settings: { ...SETTINGS, ...input.settings },
  };
}

export interface RequestInit {
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  query?: Record<string, string>;
}

export function request(host: string, pathText: string, init: RequestInit = {}): RouteRequest {
  return {
    host,
    path: pathText,
    header: (name) => init.headers?.[name],
    cookie: (name) => init.cookies?.[name],
    query: (name) => init.query?.[name],
  };
}

/**
 * Where a request goes: "service:port", with " (fallback)" or " (default)" when a
 * default backend took it, or "404". `random` defaults to 0 (the first weighted member).
 */
export function routeOf(result: TranslationResult, host: string, pathText: string, init: RequestInit = {}, random = (): number => 0): string {
  const match = matchRoute(result.table, request(host, pathText, init), random);
  if (!match) return "404";
  const target = `${match.member.backend.service}:${match.member.backend.port}`;
  return match.via === "route" ? target : `${target} (${match.via})`;
}

/** Diagnostics as "namespace/name Reason" strings, for compact assertions. */
export function reasons(result: TranslationResult): string[] {
  return result.diagnostics.map((d) => `${d.ref.namespace}/${d.ref.name} ${d.reason}`);
}

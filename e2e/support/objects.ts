// Builders for the Kubernetes objects end-to-end tests write: plain JSON, as a
// user would write it in YAML.

import type { KubeObject } from "../kube-api-server/objects.ts";

export type Json = Record<string, unknown>;
export type Manifest = KubeObject;

export interface PathSpec {
  path: string;
  pathType?: string;
  service: string;
  port: number | string;
}

export interface IngressSpec {
  name: string;
  namespace?: string;
  host?: string;
  paths?: PathSpec[];
  className?: string | null;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  defaultBackend?: { service: string; port: number | string };
  tls?: { hosts: string[]; secretName: string }[];
}

function backend(service: string, port: number | string): Json {
  return { service: { name: service, port: typeof port === "number" ? { number: port } : { name: port } } };
}

export function ingress(spec: IngressSpec): Manifest {
  const metadata: Manifest["metadata"] = { name: spec.name, namespace: spec.namespace ?? "default" };
  if (spec.annotations) metadata.annotations = spec.annotations;
  if (spec.creationTimestamp) metadata.creationTimestamp = spec.creationTimestamp;
  const body: Json = {};
  if (spec.className !== null) body.ingressClassName = spec.className ?? "turnout";
  if (spec.paths) {
    const rule: Json = {
      http: { paths: spec.paths.map((p) => ({ path: p.path, pathType: p.pathType ?? "Prefix", backend: backend(p.service, p.port) })) },
    };
    if (spec.host) rule.host = spec.host;
    body.rules = [rule];
  }
  if (spec.defaultBackend) body.defaultBackend = backend(spec.defaultBackend.service, spec.defaultBackend.port);
  if (spec.tls) body.tls = spec.tls;
  return { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata, spec: body };
}

export function ingressClass(name = "turnout", isDefault = false): Manifest {
  const metadata: Manifest["metadata"] = { name };
  if (isDefault) metadata.annotations = { "ingressclass.kubernetes.io/is-default-class": "true" };
  return { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata, spec: { controller: "turnout.dev/ingress-controller" } };
}

export function service(name: string, namespace = "default", ports: { name: string; port: number }[] = [{ name: "http", port: 80 }]): Manifest {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { ports: ports.map((p) => ({ ...p, targetPort: p.port })) } };
}

export interface SliceEndpoint {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** An EndpointSlice of `serviceName` with one port named `portName`. */
export function endpointSlice(name: string, serviceName: string, port: number, endpoints: SliceEndpoint[], namespace = "default", portName = "http"): Manifest {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace, labels: { "kubernetes.io/service-name": serviceName } },
    addressType: "IPv4",
    ports: [{ name: portName, port, protocol: "TCP" }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
}

/** A TLS Secret holding a PEM certificate chain and key, as `kubectl create secret tls` makes it. */
export function tlsSecret(name: string, pem: { cert: string; key: string }, options: { namespace?: string; type?: string } = {}): Manifest {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: options.namespace ?? "default" },
    type: options.type ?? "kubernetes.io/tls",
    data: { "tls.crt": Buffer.from(pem.cert).toString("base64"), "tls.key": Buffer.from(pem.key).toString("base64") },
  };
}

/** Active health checks fast enough for a test (200 ms probes, two in a row decide); passive ejection out of the way. */
export const FAST_HEALTH_CHECKS: Readonly<Record<string, string>> = {
  "turnout.dev/health-check-path": "/healthz",
  "turnout.dev/health-check-interval": "200ms",
  "turnout.dev/health-check-timeout": "100ms",
  "turnout.dev/health-check-unhealthy-threshold": "2",
  "turnout.dev/health-check-healthy-threshold": "2",
  // Only the active checker decides; passive ejection would hide what is tested.
  "turnout.dev/max-fails": "1000",
};

// Resolves an Ingress backend to a BackendRef through its Service: the Service port
// by number or name gives the port number and name routes use. Resource backends
// and ExternalName Services are not supported.
import type { BackendRef } from "../routing/index.ts";
import type { IngressBackend, Service } from "../store/index.ts";
import { objectKey } from "../store/index.ts";

export type BackendResolution =
  | { ok: true; backend: BackendRef }
  | {
      ok: false;
      reason: "ServiceNotFound" | "ServicePortNotFound" | "UnsupportedBackend" | "InvalidBackend";
      why: string;
    };

export type BackendResolver = (namespace: string, backend: IngressBackend) => BackendResolution;

/** Resolves `serviceName` + port (number, or name) in `namespace`. */
export type ServicePortResolver = (namespace: string, serviceName: string, port: number | string) => BackendResolution;

/** Finds a Service by namespace/name key. */
export type ServiceLookup = (key: string) => Service | undefined;

export function servicePortResolver(lookup: ServiceLookup): ServicePortResolver {
  return (namespace, serviceName, port) => {
    const serviceText = `Service ${JSON.stringify(`${namespace}/${serviceName}`)}`;
    const service = lookup(objectKey({ namespace, name: serviceName }));
    if (!service) return { ok: false, reason: "ServiceNotFound", why: `${serviceText} not found` };
    if (service.type === "ExternalName") {
      return {
        ok: false,
        reason: "UnsupportedBackend",
        why: `${serviceText} is of type ExternalName, which turnout does not route to`,
      };
    }
    const matches = (p: Service["ports"][number]): boolean => (typeof port === "number" ? p.port === port : p.name === port);
    // HTTP goes over TCP: a UDP or SCTP port of the same number (DNS on 53, say) is never the backend.
    const servicePort = service.ports.find((p) => p.protocol === "TCP" && matches(p));
    if (!servicePort) {
      const portText = typeof port === "number" ? `port ${port}` : `port named ${JSON.stringify(port)}`;
      const other = service.ports.find(matches);
      if (other) {
        return { ok: false, reason: "ServicePortNotFound", why: `${serviceText} ${portText} is ${other.protocol}; HTTP backends need a TCP port` };
      }
      const known = service.ports.map((p) => (p.name === "" ? String(p.port) : `${p.name}:${p.port}`)).join(", ");
      return {
        ok: false,
        reason: "ServicePortNotFound",
        why: `${serviceText} has no ${portText} (its ports: ${known === "" ? "none" : known})`,
      };
    }
    return {
      ok: true,
      backend: {
        key: `${namespace}/${serviceName}:${servicePort.port}`,
        namespace,
        service: serviceName,
        port: servicePort.port,
        portName: servicePort.name,
      },
    };
  };
}

export function backendResolver(lookup: ServiceLookup): BackendResolver {
  const resolvePort = servicePortResolver(lookup);
  return (namespace, backend) => {
    if (backend.resource) {
      const r = backend.resource;
      const kind = r.apiGroup ? `${r.kind}.${r.apiGroup}` : r.kind;
      return {
        ok: false,
        reason: "UnsupportedBackend",
        why: `resource backends (${kind} ${JSON.stringify(r.name)}) are not supported; use a Service`,
      };
    }
    if (!backend.service) return { ok: false, reason: "InvalidBackend", why: "the backend names no Service" };
    const { name, port } = backend.service;
    const hasNumber = port.number !== undefined;
    const hasName = port.name !== undefined && port.name !== "";
    if (hasNumber === hasName) {
      return {
        ok: false,
        reason: "InvalidBackend",
        why: `the backend for Service ${JSON.stringify(name)} must give exactly one of port.number and port.name`,
      };
    }
    return resolvePort(namespace, name, hasNumber ? (port.number as number) : (port.name as string));
  };
}

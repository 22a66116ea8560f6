// Edge schemas: raw Kubernetes JSON (from the API server or a YAML file) becomes
// the normalised objects of objects.ts here, and nowhere else. Semantic checks
// (path syntax, pathType values) are left to translation, which reports them as
// diagnostics on the Ingress; only structural garbage is rejected here.
import { z } from "zod";
import type {
  ClusterObject,
  EndpointSlice,
  Ingress,
  IngressBackend,
  IngressClass,
  ObjectMeta,
  Secret,
  Service,
} from "./objects.ts";
import { compactObject } from "./compact.ts";

const stringMap = z.record(z.string(), z.string()).nullish().transform((m) => ({ ...(m ?? {}) }));

// client-node's typed list calls turn timestamps into Date; watch events carry strings.
const timestamp = z
  .union([z.string(), z.date()])
  .nullish()
  .transform((t) => (t instanceof Date ? t.toISOString() : (t ?? "")));

const metadataSchema = z.object({
  name: z.string().min(1, "metadata.name is required"),
  namespace: z.string().nullish(),
  uid: z.string().nullish(),
  resourceVersion: z.string().nullish(),
  generation: z.number().nullish(),
  creationTimestamp: timestamp,
  labels: stringMap,
  annotations: stringMap,
});

function toMeta(m: z.infer<typeof metadataSchema>, defaultNamespace: string): ObjectMeta {
  return {
    // An empty namespace is no namespace, as kubectl takes it.
    namespace: m.namespace || defaultNamespace,
    name: m.name,
    uid: m.uid ?? "",
    resourceVersion: m.resourceVersion ?? "",
    generation: m.generation ?? 0,
    creationTimestamp: m.creationTimestamp,
    labels: m.labels,
    annotations: m.annotations,
  };
}

const backendSchema = z
  .object({
    service: z
      .object({
        name: z.string(),
        port: z
          .object({ number: z.number().int().nullish(), name: z.string().nullish() })
          .nullish()
          .transform((p) => ({ number: p?.number ?? undefined, name: p?.name ?? undefined })),
      })
      .nullish(),
    resource: z
      .object({ apiGroup: z.string().nullish(), kind: z.string(), name: z.string() })
      .nullish(),
  })
  .transform((b): IngressBackend => {
    const out: IngressBackend = {};
    if (b.service) {
      const port: { number?: number; name?: string } = {};
      if (b.service.port.number !== undefined) port.number = b.service.port.number;
      if (b.service.port.name !== undefined) port.name = b.service.port.name;
      out.service = { name: b.service.name, port };
    }
    if (b.resource) {
      out.resource = { kind: b.resource.kind, name: b.resource.name };
      if (b.resource.apiGroup) out.resource.apiGroup = b.resource.apiGroup;
    }
    return out;
  });

const lbIngressList = z
  .array(z.object({ ip: z.string().nullish(), hostname: z.string().nullish() }))
  .nullish()
  .transform((list) =>
    (list ?? []).map((e) => {
      const out: { ip?: string; hostname?: string } = {};
      if (e.ip) out.ip = e.ip;
      if (e.hostname) out.hostname = e.hostname;
      return out;
    }),
  );

const ingressSchema = z.object({
  metadata: metadataSchema,
  spec: z
    .object({
      ingressClassName: z.string().nullish(),
      defaultBackend: backendSchema.nullish(),
      tls: z
        .array(z.object({ hosts: z.array(z.string()).nullish(), secretName: z.string().nullish() }))
        .nullish(),
      rules: z
        .array(
          z.object({
            host: z.string().nullish(),
            http: z
              .object({
                paths: z.array(
                  z.object({ path: z.string().nullish(), pathType: z.string().nullish(), backend: backendSchema }),
                ),
              })
              .nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
  status: z.object({ loadBalancer: z.object({ ingress: lbIngressList }).nullish() }).nullish(),
});

function toIngress(raw: z.infer<typeof ingressSchema>, defaultNamespace: string): Ingress {
  const spec = raw.spec ?? {};
  const ingress: Ingress = {
    kind: "Ingress",
    meta: toMeta(raw.metadata, defaultNamespace),
    tls: (spec.tls ?? []).map((t) => {
      const tls: { hosts: string[]; secretName?: string } = { hosts: t.hosts ?? [] };
      if (t.secretName) tls.secretName = t.secretName;
      return tls;
    }),
    rules: (spec.rules ?? []).map((r) => {
      const rule: Ingress["rules"][number] = {
        paths: (r.http?.paths ?? []).map((p) => {
          const path: Ingress["rules"][number]["paths"][number] = {
            pathType: p.pathType ?? "",
            backend: p.backend,
          };
          if (p.path !== null && p.path !== undefined) path.path = p.path;
          return path;
        }),
      };
      if (r.host) rule.host = r.host;
      return rule;
    }),
    status: raw.status?.loadBalancer?.ingress ?? [],
  };
  if (spec.ingressClassName) ingress.ingressClassName = spec.ingressClassName;
  if (spec.defaultBackend) ingress.defaultBackend = spec.defaultBackend;
  return ingress;
}

const ingressClassSchema = z.object({
  metadata: metadataSchema,
  spec: z.object({ controller: z.string().nullish() }).nullish(),
});

const serviceSchema = z.object({
  metadata: metadataSchema,
  spec: z
    .object({
      type: z.string().nullish(),
      externalName: z.string().nullish(),
      clusterIP: z.string().nullish(),
      externalIPs: z.array(z.string()).nullish(),
      ports: z
        .array(
          z.object({
            name: z.string().nullish(),
            port: z.number().int().min(1).max(65535),
            targetPort: z.union([z.number().int(), z.string()]).nullish(),
            protocol: z.string().nullish(),
            appProtocol: z.string().nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
  status: z.object({ loadBalancer: z.object({ ingress: lbIngressList }).nullish() }).nullish(),
});

function toService(raw: z.infer<typeof serviceSchema>, defaultNamespace: string): Service {
  const spec = raw.spec ?? {};
  const service: Service = {
    kind: "Service",
    meta: toMeta(raw.metadata, defaultNamespace),
    type: spec.type ?? "ClusterIP",
    ports: (spec.ports ?? []).map((p) => {
      const port: Service["ports"][number] = { name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP" };
      if (p.targetPort !== null && p.targetPort !== undefined) port.targetPort = p.targetPort;
      if (p.appProtocol) port.appProtocol = p.appProtocol;
      return port;
    }),
    loadBalancerIngress: raw.status?.loadBalancer?.ingress ?? [],
  };
  if (spec.externalName) service.externalName = spec.externalName;
  if (spec.clusterIP && spec.clusterIP !== "None") service.clusterIP = spec.clusterIP;
  if (spec.externalIPs && spec.externalIPs.length > 0) service.externalIPs = spec.externalIPs;
  return service;
}

const endpointSliceSchema = z.object({
  metadata: metadataSchema,
  addressType: z.string(),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()),
        conditions: z
          .object({ ready: z.boolean().nullish(), serving: z.boolean().nullish(), terminating: z.boolean().nullish() })
          .nullish(),
        nodeName: z.string().nullish(),
        zone: z.string().nullish(),
        targetRef: z
          .object({ kind: z.string().nullish(), namespace: z.string().nullish(), name: z.string().nullish() })
          .nullish(),
      }),
    )
    .nullish(),
  ports: z
    .array(z.object({ name: z.string().nullish(), port: z.number().int().nullish(), protocol: z.string().nullish() }))
    .nullish(),
});

function toEndpointSlice(raw: z.infer<typeof endpointSliceSchema>, defaultNamespace: string): EndpointSlice {
  const meta = toMeta(raw.metadata, defaultNamespace);
  return {
    kind: "EndpointSlice",
    meta,
    serviceName: meta.labels["kubernetes.io/service-name"] ?? "",
    addressType: raw.addressType,
    endpoints: (raw.endpoints ?? []).map((e) => {
      // The API defines unset ready as ready, unset serving as equal to ready.
      const ready = e.conditions?.ready ?? true;
      const endpoint: EndpointSlice["endpoints"][number] = {
        addresses: e.addresses,
        conditions: {
          ready,
          serving: e.conditions?.serving ?? ready,
          terminating: e.conditions?.terminating ?? false,
        },
      };
      if (e.nodeName) endpoint.nodeName = e.nodeName;
      if (e.zone) endpoint.zone = e.zone;
      if (e.targetRef) {
        const ref: { kind?: string; namespace?: string; name?: string } = {};
        if (e.targetRef.kind) ref.kind = e.targetRef.kind;
        if (e.targetRef.namespace) ref.namespace = e.targetRef.namespace;
        if (e.targetRef.name) ref.name = e.targetRef.name;
        endpoint.targetRef = ref;
      }
      return endpoint;
    }),
    ports: (raw.ports ?? []).map((p) => {
      const port: EndpointSlice["ports"][number] = { name: p.name ?? "", protocol: p.protocol ?? "TCP" };
      if (p.port !== null && p.port !== undefined) port.port = p.port;
      return port;
    }),
  };
}

const secretSchema = z.object({
  metadata: metadataSchema,
  type: z.string().nullish(),
  data: z.record(z.string(), z.string()).nullish(),
  stringData: z.record(z.string(), z.string()).nullish(),
});

function toSecret(raw: z.infer<typeof secretSchema>, defaultNamespace: string): Secret {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw.data ?? {})) data[key] = Buffer.from(value, "base64").toString("utf8");
  // stringData is write-only in a cluster but convenient in file mode.
  for (const [key, value] of Object.entries(raw.stringData ?? {})) data[key] = value;
  return { kind: "Secret", meta: toMeta(raw.metadata, defaultNamespace), type: raw.type ?? "Opaque", data };
}

export type ParseResult<T> = { ok: true; object: T } | { ok: false; message: string };

function run<S extends z.ZodType, T extends ClusterObject>(
  schema: S,
  input: unknown,
  convert: (value: z.infer<S>) => T,
): ParseResult<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const message = result.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
      .join("; ");
    return { ok: false, message };
  }
  return { ok: true, object: compactObject(convert(result.data)) };
}

export function parseIngress(input: unknown, defaultNamespace = "default"): ParseResult<Ingress> {
  return run(ingressSchema, input, (v) => toIngress(v, defaultNamespace));
}

export function parseIngressClass(input: unknown): ParseResult<IngressClass> {
  return run(ingressClassSchema, input, (v) => ({
    kind: "IngressClass" as const,
    meta: toMeta(v.metadata, ""),
    controller: v.spec?.controller ?? "",
  }));
}

export function parseService(input: unknown, defaultNamespace = "default"): ParseResult<Service> {
  return run(serviceSchema, input, (v) => toService(v, defaultNamespace));
}

export function parseEndpointSlice(input: unknown, defaultNamespace = "default"): ParseResult<EndpointSlice> {
  return run(endpointSliceSchema, input, (v) => toEndpointSlice(v, defaultNamespace));
}

export function parseSecret(input: unknown, defaultNamespace = "default"): ParseResult<Secret> {
  return run(secretSchema, input, (v) => toSecret(v, defaultNamespace));
}

const kindHeader = z.object({ apiVersion: z.string(), kind: z.string() });

/** The kinds turnout reads, by `apiVersion/kind` as written in manifests. */
const parsersByType: Record<string, (input: unknown, ns: string) => ParseResult<ClusterObject>> = {
  "networking.k8s.io/v1/Ingress": parseIngress,
  "networking.k8s.io/v1/IngressClass": (input) => parseIngressClass(input),
  "v1/Service": parseService,
  "discovery.k8s.io/v1/EndpointSlice": parseEndpointSlice,
  "v1/Secret": parseSecret,
};

/** The `apiVersion` turnout reads for a kind it reads in some version; undefined for other kinds. */
export function readApiVersion(kind: string): string | undefined {
  const type = Object.keys(parsersByType).find((t) => t.endsWith(`/${kind}`));
  return type?.slice(0, -kind.length - 1);
}

export type ClusterObjectParseResult =
  | { ok: true; object: ClusterObject }
  | { ok: false; message: string }
  | { ok: "ignored"; apiVersion: string; kind: string };

/** Parses any manifest document: a kind turnout reads, one it ignores, or garbage. */
export function parseClusterObject(input: unknown, defaultNamespace = "default"): ClusterObjectParseResult {
  const header = kindHeader.safeParse(input);
  if (!header.success) return { ok: false, message: "not a Kubernetes object: apiVersion and kind are required" };
  const parse = parsersByType[`${header.data.apiVersion}/${header.data.kind}`];
  if (!parse) return { ok: "ignored", apiVersion: header.data.apiVersion, kind: header.data.kind };
  return parse(input, defaultNamespace);
}

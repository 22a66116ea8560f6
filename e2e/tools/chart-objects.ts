// Rendering the turnout chart with the offline helm, and typed (zod-parsed) views of the objects it produces,
// for the chart tests.
import assert from "node:assert/strict";
import { loadAllYaml } from "@kubernetes/client-node";
import { z } from "zod";
import { runHelm } from "./helm.ts";
import type { HelmResult } from "./helm.ts";

export const CHART = "charts/turnout";
export const RELEASE_NAMESPACE = "edge";
export const CI = {
  allFeatures: "charts/turnout/ci/all-features-values.yaml",
  daemonSet: "charts/turnout/ci/daemonset-values.yaml",
  namespacedRbac: "charts/turnout/ci/namespaced-rbac-values.yaml",
};

export const stringMap = z.record(z.string(), z.string());
export const metadataSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().optional(),
  labels: stringMap.default({}),
  annotations: stringMap.default({}),
});
export const objectSchema = z.looseObject({ apiVersion: z.string().min(1), kind: z.string().min(1), metadata: metadataSchema });
export type K8sObject = z.infer<typeof objectSchema>;

export const probeSchema = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }) });
export const containerSchema = z.object({
  image: z.string(),
  args: z.array(z.string()).default([]),
  env: z.array(z.object({ name: z.string(), value: z.string().optional() })).default([]),
  ports: z.array(z.object({ name: z.string(), containerPort: z.number() })),
  livenessProbe: probeSchema,
  readinessProbe: probeSchema,
  securityContext: z.object({
    allowPrivilegeEscalation: z.boolean().optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    runAsNonRoot: z.boolean().optional(),
    runAsUser: z.number().optional(),
    capabilities: z.object({ drop: z.array(z.string()).default([]), add: z.array(z.string()).default([]) }).optional(),
    seccompProfile: z.object({ type: z.string() }).optional(),
  }),
});
export const workloadSchema = z.object({
  kind: z.enum(["Deployment", "DaemonSet"]),
  metadata: metadataSchema,
  spec: z.object({
    replicas: z.number().optional(),
    selector: z.object({ matchLabels: stringMap }),
    template: z.object({
      metadata: z.object({ labels: stringMap, annotations: stringMap.default({}) }),
      spec: z.object({
        serviceAccountName: z.string(),
        terminationGracePeriodSeconds: z.number(),
        securityContext: z.object({ runAsNonRoot: z.boolean().optional(), runAsUser: z.number().optional() }),
        containers: z.array(containerSchema).length(1),
      }),
    }),
  }),
});
export const serviceSchema = z.object({
  metadata: metadataSchema,
  spec: z.object({
    type: z.string(),
    selector: stringMap,
    ports: z.array(z.object({ name: z.string(), port: z.number(), targetPort: z.union([z.string(), z.number()]) })),
  }),
});
export const ruleSchema = z.object({
  apiGroups: z.array(z.string()),
  resources: z.array(z.string()),
  verbs: z.array(z.string()),
  resourceNames: z.array(z.string()).optional(),
});
export const roleSchema = z.object({ metadata: metadataSchema, rules: z.array(ruleSchema) });
export const bindingSchema = z.object({
  roleRef: z.object({ kind: z.string(), name: z.string() }),
  subjects: z.array(z.object({ kind: z.string(), name: z.string(), namespace: z.string().optional() })),
});
export const serviceMonitorSchema = z.object({
  spec: z.object({
    namespaceSelector: z.object({ matchNames: z.array(z.string()) }),
    selector: z.object({ matchLabels: stringMap }),
    endpoints: z.array(z.object({ port: z.string(), path: z.string() })),
  }),
});

/** `helm template` of the chart as release "turnout" in RELEASE_NAMESPACE; never throws on failure. */
export async function helmTemplate(args: readonly string[]): Promise<HelmResult> {
  return runHelm(["template", "turnout", CHART, "--namespace", RELEASE_NAMESPACE, ...args]);
}

/** Rendered objects, each checked to have apiVersion, kind and metadata.name. */
export async function render(...args: string[]): Promise<K8sObject[]> {
  const result = await helmTemplate(args);
  assert.equal(result.code, 0, `helm template ${args.join(" ")} failed:\n${result.stderr}`);
  const documents = loadAllYaml(result.stdout) as unknown[];
  return documents.filter((d) => d !== null && d !== undefined).map((d) => objectSchema.parse(d));
}

export function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** The only object of a kind (and name), parsed by schema. */
export function one<T>(objects: readonly K8sObject[], kind: string, schema: z.ZodType<T>, name?: string): T {
  const found = ofKind(objects, kind).filter((o) => name === undefined || o.metadata.name === name);
  assert.equal(found.length, 1, `expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return schema.parse(found[0]);
}

export type Workload = z.infer<typeof workloadSchema>;
export type Container = z.infer<typeof containerSchema>;

/** The single controller Deployment or DaemonSet and its container. */
export function controller(objects: readonly K8sObject[]): { workload: Workload; container: Container } {
  const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "DaemonSet");
  assert.equal(workloads.length, 1, "expected exactly one controller workload");
  const workload = workloadSchema.parse(workloads[0]);
  const container = workload.spec.template.spec.containers[0];
  assert.ok(container);
  return { workload, container };
}

/** Value of the last `--name=value` argument. */
export function flag(args: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.findLast((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** Port number a probe or Service targetPort refers to, by number or by container port name. */
export function containerPort(container: Container, port: string | number): number {
  if (typeof port === "number") return port;
  const named = container.ports.find((p) => p.name === port);
  assert.ok(named, `no container port named ${port}`);
  return named.containerPort;
}

/** "group resource verb" for every grant, wildcard-checked; the core group is written "core". */
export function grants(rules: readonly z.infer<typeof ruleSchema>[]): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    for (const field of [rule.apiGroups, rule.resources, rule.verbs]) assert.ok(!field.includes("*"), `wildcard in ${JSON.stringify(rule)}`);
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) for (const verb of rule.verbs) out.push(`${group || "core"} ${resource} ${verb}`);
    }
  }
  return [...new Set(out)].sort();
}

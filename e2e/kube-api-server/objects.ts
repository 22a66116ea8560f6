// The loose shape of a stored Kubernetes object: only what the server needs to read is
// typed; everything else is kept as given. Request bodies are parsed with zod here.

import { z } from "zod";
import { badRequest } from "./status.ts";

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

const objectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

const kubeObjectSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: objectMetaSchema.default({}),
});

/** Validates a request body as an object; the message names the first offending field. */
export function parseKubeObject(value: unknown): KubeObject {
  const result = kubeObjectSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? "" : issue.path.join(".");
    throw badRequest(`invalid object: ${where === "" ? "" : `${where}: `}${issue?.message ?? "not an object"}`);
  }
  // zod copies only the levels it validated; cloning keeps nested fields from aliasing the input.
  return structuredClone<KubeObject>(result.data);
}

export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** RFC 3339 with second precision, as Kubernetes writes timestamps. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// RBAC for the test server: ClusterRole/Role rules (as in Kubernetes) loaded from a file
// or the control API, all bound to the one test user. No policy means everything is allowed.

import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ApiError, failureStatus } from "./status.ts";

export interface PolicyRule {
  apiGroups: string[];
  /** Plural resources, "resource/subresource", "*", "resource/*" or "*\/subresource". */
  resources: string[];
  verbs: string[];
  resourceNames: string[];
}

export interface RoleGrant {
  /** "ClusterRole/name" or "Role/namespace/name", for messages. */
  source: string;
  /** Undefined for a ClusterRole: its rules hold in every namespace and at cluster scope. */
  namespace: string | undefined;
  rules: PolicyRule[];
}

export interface RbacPolicy {
  grants: RoleGrant[];
}

export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
}

const policyRuleSchema = z.object({
  apiGroups: z.array(z.string()).nullish().transform((v) => v ?? []),
  resources: z.array(z.string()).nullish().transform((v) => v ?? []),
  verbs: z.array(z.string()).min(1),
  resourceNames: z.array(z.string()).nullish().transform((v) => v ?? []),
});

const roleSchema = z.looseObject({
  kind: z.enum(["ClusterRole", "Role"]),
  metadata: z.looseObject({ name: z.string().nullish(), namespace: z.string().nullish() }),
  rules: z.array(policyRuleSchema).nullish().transform((v) => v ?? []),
});

const IGNORED_KINDS = new Set(["ClusterRoleBinding", "RoleBinding", "ServiceAccount"]);

function flatten(documents: unknown[]): unknown[] {
  return documents.flatMap((doc) => {
    if (Array.isArray(doc)) return flatten(doc);
    if (typeof doc === "object" && doc !== null && (doc as { kind?: unknown }).kind === "List") {
      const items = (doc as { items?: unknown }).items;
      return Array.isArray(items) ? flatten(items) : [];
    }
    return doc === null || doc === undefined ? [] : [doc];
  });
}

/**
 * Reads ClusterRole and Role objects (also inside arrays and `List`s). Bindings and service
 * accounts are skipped: every role applies to the test user. Throws one message listing all problems.
 */
export function parseRbacDocuments(documents: unknown[]): RbacPolicy {
  const grants: RoleGrant[] = [];
  const problems: string[] = [];
  flatten(documents).forEach((doc, index) => {
    const kind = (doc as { kind?: unknown }).kind;
    if (typeof kind === "string" && IGNORED_KINDS.has(kind)) return;
    const parsed = roleSchema.safeParse(doc);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push(`document ${index}: ${issue === undefined ? "invalid" : `${issue.path.join(".")}: ${issue.message}`}`);
      return;
    }
    const { kind: roleKind, metadata, rules } = parsed.data;
    const name = metadata.name ?? "";
    if (roleKind === "Role") {
      const namespace = metadata.namespace ?? "";
      if (namespace === "") {
        problems.push(`document ${index}: Role "${name}" needs metadata.namespace`);
        return;
      }
      grants.push({ source: `Role/${namespace}/${name}`, namespace, rules });
    } else {
      grants.push({ source: `ClusterRole/${name}`, namespace: undefined, rules });
    }
  });
  if (problems.length > 0) throw new Error(`invalid RBAC policy:\n  ${problems.join("\n  ")}`);
  return { grants };
}

/** Loads a policy from a JSON file or a (multi-document) YAML file. */
export async function loadRbacFile(path: string): Promise<RbacPolicy> {
  const text = await readFile(path, "utf8");
  if (path.endsWith(".json")) return parseRbacDocuments([JSON.parse(text) as unknown]);
  // client-node already carries a YAML parser; loaded only when a YAML policy is used.
  const { loadAllYaml } = await import("@kubernetes/client-node");
  return parseRbacDocuments(loadAllYaml(text) as unknown[]);
}

function resourceMatches(patterns: string[], resource: string, subresource: string | undefined): boolean {
  const wanted = subresource === undefined ? resource : `${resource}/${subresource}`;
  return patterns.some(
    (p) => p === "*" || p === wanted || (subresource !== undefined && (p === `${resource}/*` || p === `*/${subresource}`)),
  );
}

export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  return (
    (rule.verbs.includes("*") || rule.verbs.includes(attrs.verb)) &&
    (rule.apiGroups.includes("*") || rule.apiGroups.includes(attrs.apiGroup)) &&
    resourceMatches(rule.resources, attrs.resource, attrs.subresource) &&
    (rule.resourceNames.length === 0 || (attrs.name !== undefined && rule.resourceNames.includes(attrs.name)))
  );
}

export function isAllowed(policy: RbacPolicy | undefined, attrs: RequestAttributes): boolean {
  if (policy === undefined) return true;
  return policy.grants.some(
    (grant) => (grant.namespace === undefined || grant.namespace === attrs.namespace) && grant.rules.some((rule) => ruleAllows(rule, attrs)),
  );
}

/** The 403 the API server sends, worded as Kubernetes words it. */
export function forbidden(attrs: RequestAttributes, user: string): ApiError {
  const qualified = attrs.apiGroup === "" ? attrs.resource : `${attrs.resource}.${attrs.apiGroup}`;
  const target = attrs.name === undefined ? qualified : `${qualified} "${attrs.name}"`;
  const resource = attrs.subresource === undefined ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const scope = attrs.namespace === undefined ? "at the cluster scope" : `in the namespace "${attrs.namespace}"`;
  const message = `${target} is forbidden: User "${user}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${scope}`;
  return new ApiError(failureStatus(403, message, "Forbidden", { kind: attrs.resource, group: attrs.apiGroup, ...(attrs.name === undefined ? {} : { name: attrs.name }) }));
}

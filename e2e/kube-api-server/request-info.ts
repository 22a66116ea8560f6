// Turns a request's method and URL into what Kubernetes authorizes and serves: verb,
// API group, resource, subresource, namespace, name. Unknown paths are 404, wrong methods 405.

import { findByResource, RESOURCE_TYPES, type ResourceType } from "./resources.ts";
import { methodNotAllowed, pathNotFound } from "./status.ts";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export interface ResourceRequest {
  verb: Verb;
  type: ResourceType;
  /** Undefined for cluster-scoped types and for all-namespace lists and watches. */
  namespace: string | undefined;
  name: string | undefined;
  subresource: "status" | undefined;
}

interface ParsedPath {
  group: string;
  version: string;
  rest: string[];
}

function splitApiPath(pathname: string): ParsedPath | undefined {
  const segments = pathname.split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s));
  const [root, ...tail] = segments;
  if (root === "api") {
    const [version, ...rest] = tail;
    return version === undefined ? undefined : { group: "", version, rest };
  }
  if (root === "apis") {
    const [group, version, ...rest] = tail;
    return group === undefined || version === undefined ? undefined : { group, version, rest };
  }
  return undefined;
}

function isNamespacedResource(group: string, version: string, resource: string | undefined): boolean {
  return resource !== undefined && RESOURCE_TYPES.some((t) => t.group === group && t.version === version && t.resource === resource && t.namespaced);
}

function verbFor(method: string, named: boolean, watch: boolean, subresource: string | undefined): Verb {
  const table: Readonly<Record<string, Verb | undefined>> = named
    ? { GET: watch ? "watch" : "get", PUT: "update", PATCH: "patch", DELETE: subresource === undefined ? "delete" : undefined }
    : { GET: watch ? "watch" : "list", POST: "create", DELETE: "deletecollection" };
  const verb = table[method];
  if (verb === undefined) throw methodNotAllowed(method);
  return verb;
}

/** Returns undefined for paths outside /api and /apis resource URLs (discovery and others). */
export function parseResourceRequest(method: string, pathname: string, query: URLSearchParams): ResourceRequest | undefined {
  const parsed = splitApiPath(pathname);
  if (parsed === undefined || parsed.rest.length === 0) return undefined;
  const { group, version, rest } = parsed;
  let namespace: string | undefined;
  let remainder = rest;
  // "namespaces/x/ingresses" is a namespaced path; "namespaces/x" is the Namespace object itself.
  if (rest[0] === "namespaces" && rest.length >= 3 && isNamespacedResource(group, version, rest[2])) {
    namespace = rest[1];
    remainder = rest.slice(2);
  }
  const [resource = "", name, subresource, ...extra] = remainder;
  const type = findByResource(group, version, resource);
  if (type === undefined || extra.length > 0) throw pathNotFound();
  if (subresource !== undefined && !(subresource === "status" && type.hasStatus)) throw pathNotFound();
  if (!type.namespaced && namespace !== undefined) throw pathNotFound();
  const watch = query.get("watch") === "true" || query.get("watch") === "1";
  const verb = verbFor(method, name !== undefined, watch, subresource);
  const allNamespaces = type.namespaced && namespace === undefined;
  if (allNamespaces && verb !== "list" && verb !== "watch") {
    throw name === undefined ? methodNotAllowed(method) : pathNotFound();
  }
  return { verb, type, namespace, name, subresource: subresource === "status" ? "status" : undefined };
}

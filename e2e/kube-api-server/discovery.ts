// Minimal but valid discovery documents (/api, /apis, /apis/<group>[/<version>], /version),
// built from the resource table, for clients that look before they list.

import { apiVersionOf, groupVersions, RESOURCE_TYPES } from "./resources.ts";
import { pathNotFound } from "./status.ts";

const OBJECT_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const STATUS_VERBS = ["get", "patch", "update"];

function groupDocument(group: string): Record<string, unknown> | undefined {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  const preferred = versions[0];
  if (preferred === undefined) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", name: group, versions, preferredVersion: preferred };
}

function resourceList(group: string, version: string): Record<string, unknown> | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  const first = types[0];
  if (first === undefined) return undefined;
  const resources = types.flatMap((t) => {
    const main = { name: t.resource, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: OBJECT_VERBS };
    return t.hasStatus ? [main, { name: `${t.resource}/status`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: STATUS_VERBS }] : [main];
  });
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: apiVersionOf(first), resources };
}

/** The discovery document for a path, or a 404 ApiError. */
export function discoveryDocument(pathname: string, serverAddress: string): unknown {
  const path = pathname.replace(/\/+$/, "");
  if (path === "/version") {
    return { major: "1", minor: "33", gitVersion: "v1.33.0-turnout-test", platform: `${process.platform}/${process.arch}` };
  }
  if (path === "/api") {
    return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
  }
  if (path === "/apis") {
    const names = [...new Set(groupVersions().map((gv) => gv.group).filter((g) => g !== ""))];
    return { kind: "APIGroupList", apiVersion: "v1", groups: names.map((name) => groupDocument(name)) };
  }
  const core = /^\/api\/([^/]+)$/.exec(path);
  const named = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  const document =
    core !== null
      ? resourceList("", core[1] ?? "")
      : named !== null
        ? named[2] === undefined
          ? groupDocument(named[1] ?? "")
          : resourceList(named[1] ?? "", named[2])
        : undefined;
  if (document === undefined) throw pathNotFound();
  return document;
}

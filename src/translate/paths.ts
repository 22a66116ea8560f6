// Rule path validation and normalisation. ImplementationSpecific is matched as
// Prefix. Prefix keys drop trailing slashes ("/" becomes ""), Exact keys are kept as
// written. Paths are literal: regex-looking characters have no special meaning.
import type { PathType } from "../routing/index.ts";

export type RulePath =
  | { ok: true; pathType: PathType; key: string }
  | { ok: false; reason: "InvalidPath" | "InvalidPathType"; why: string };

const KNOWN_PATH_TYPES = ["Exact", "Prefix", "ImplementationSpecific"];
// The API server refuses these in Exact and Prefix paths.
const INVALID_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_SUFFIXES = ["/..", "/."];

function prefixKey(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  return path.slice(0, end);
}

export function parseRulePath(path: string | undefined, pathType: string): RulePath {
  if (!KNOWN_PATH_TYPES.includes(pathType)) {
    return {
      ok: false,
      reason: "InvalidPathType",
      why: `pathType ${JSON.stringify(pathType)} is not one of Exact, Prefix, ImplementationSpecific`,
    };
  }
  if (path === undefined || path === "") {
    if (pathType === "Exact") return { ok: false, reason: "InvalidPath", why: "an Exact path needs a path" };
    return { ok: true, pathType: "Prefix", key: "" };
  }
  if (!path.startsWith("/")) return { ok: false, reason: "InvalidPath", why: 'the path must start with "/"' };
  if (pathType !== "ImplementationSpecific") {
    const sequence = INVALID_SEQUENCES.find((s) => path.includes(s));
    if (sequence) return { ok: false, reason: "InvalidPath", why: `the path must not contain ${JSON.stringify(sequence)}` };
    const suffix = INVALID_SUFFIXES.find((s) => path.endsWith(s));
    if (suffix) return { ok: false, reason: "InvalidPath", why: `the path must not end with ${JSON.stringify(suffix)}` };
  }
  if (pathType === "Exact") return { ok: true, pathType: "Exact", key: path };
  return { ok: true, pathType: "Prefix", key: prefixKey(path) };
}

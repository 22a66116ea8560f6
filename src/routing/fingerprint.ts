// A canonical text form of a RouteTable: equal tables give equal strings, so the
// reconciler can skip publishing a rebuild that changed nothing.
import type { RouteTable } from "./route-table.ts";

/**
 * Translation builds every Map and object in a deterministic (sorted) order, so
 * plain JSON with Maps and RegExps spelled out is canonical — and native speed,
 * which matters at thousands of Ingresses.
 */
function replacer(key: string, value: unknown): unknown {
  // Members of one Ingress share one policy object: serialise each once.
  if (key === "policy" && typeof value === "object" && value !== null) return policyText(value);
  if (value instanceof Map) return { $map: [...(value as Map<unknown, unknown>)] };
  if (value instanceof RegExp) return { $regex: value.source, flags: value.flags };
  return value;
}

const policyTexts = new WeakMap<object, string>();

function policyText(policy: object): string {
  let text = policyTexts.get(policy);
  if (text === undefined) {
    text = JSON.stringify(policy, replacer);
    policyTexts.set(policy, text);
  }
  return text;
}

/** Canonical text of everything a table routes by (conditions, weights, policies, TLS...). */
export function routeTableFingerprint(table: RouteTable): string {
  return JSON.stringify(table, replacer);
}

export function routeTablesEqual(a: RouteTable, b: RouteTable): boolean {
  return a === b || routeTableFingerprint(a) === routeTableFingerprint(b);
}

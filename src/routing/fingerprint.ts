// A canonical text form of a RouteTable: equal tables give equal strings whatever
// the insertion order of their Maps or object keys, so the reconciler can skip
// publishing a rebuild that changed nothing.
import type { RouteTable } from "./route-table.ts";

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") {
    // undefined only reaches here inside arrays; JSON would turn it into null too.
    return value === undefined ? "null" : JSON.stringify(value);
  }
  if (value instanceof RegExp) return `{"$regex":${JSON.stringify(value.source)},"flags":${JSON.stringify(value.flags)}}`;
  if (value instanceof Map) {
    const entries = [...(value as Map<unknown, unknown>).entries()]
      .map(([k, v]) => [JSON.stringify(k), canonical(v)] as const)
      .sort(([a], [b]) => compareStrings(a, b));
    return `{"$map":[${entries.map(([k, v]) => `[${k},${v}]`).join(",")}]}`;
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const fields = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`);
  return `{${fields.join(",")}}`;
}

/** Canonical text of everything a table routes by (conditions, weights, policies, TLS...). */
export function routeTableFingerprint(table: RouteTable): string {
  return canonical(table);
}

export function routeTablesEqual(a: RouteTable, b: RouteTable): boolean {
  return a === b || routeTableFingerprint(a) === routeTableFingerprint(b);
}

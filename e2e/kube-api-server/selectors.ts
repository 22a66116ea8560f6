// Label and field selectors as the API server parses them, compiled into predicates
// over stored objects. Bad selectors become 400 BadRequest errors.

import { badRequest } from "./status.ts";
import type { ResourceType } from "./resources.ts";
import type { KubeObject } from "./objects.ts";

export type ObjectPredicate = (obj: KubeObject) => boolean;

type LabelRequirement =
  | { op: "eq" | "ne"; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "absent"; key: string };

/** Splits at commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`);
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);

function parseLabelRequirement(text: string): LabelRequirement {
  const eq = EQUALITY.exec(text);
  if (eq !== null) {
    const [, key = "", , op, value = ""] = eq;
    return { op: op === "!=" ? "ne" : "eq", key, value };
  }
  const set = SET.exec(text);
  if (set !== null) {
    const [, key = "", , op, list = ""] = set;
    const values = list.split(",").map((v) => v.trim());
    if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) {
      throw badRequest(`unable to parse requirement: invalid label value in "${text}"`);
    }
    return { op: op === "notin" ? "notin" : "in", key, values };
  }
  const exists = EXISTS.exec(text);
  if (exists !== null) {
    const [, bang, key = ""] = exists;
    return { op: bang === "!" ? "absent" : "exists", key };
  }
  throw badRequest(`unable to parse requirement: found '${text}', expected: key, key=value, key!=value, key in (...), key notin (...) or !key`);
}

function matchesLabel(req: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case "eq":
      return value === req.value;
    case "ne":
      return value !== req.value;
    case "in":
      return value !== undefined && req.values.includes(value);
    case "notin":
      return value === undefined || !req.values.includes(value);
    case "exists":
      return has;
    case "absent":
      return !has;
  }
}

export function parseLabelSelector(selector: string | null | undefined): ObjectPredicate {
  if (selector === null || selector === undefined || selector.trim() === "") return () => true;
  const requirements = splitTopLevel(selector).map(parseLabelRequirement);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return requirements.every((req) => matchesLabel(req, labels));
  };
}

/** Reads a dotted field path; non-string leaves are compared by their string form, as the server does. */
function fieldValue(obj: KubeObject, path: string): string {
  const alias = path === "source" ? "source.component" : path;
  let current: unknown = obj;
  for (const segment of alias.split(".")) {
    if (typeof current !== "object" || current === null) return "";
    current = (current as Record<string, unknown>)[segment];
  }
  if (current === undefined || current === null) return "";
  return typeof current === "string" ? current : JSON.stringify(current);
}

export function parseFieldSelector(selector: string | null | undefined, type: ResourceType): ObjectPredicate {
  if (selector === null || selector === undefined || selector.trim() === "") return () => true;
  const allowed = new Set(["metadata.name", "metadata.namespace", ...type.extraSelectableFields]);
  const requirements = selector.split(",").map((part) => {
    const match = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (match === null) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [, field = "", op, value = ""] = match;
    if (!allowed.has(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    return { field, negate: op === "!=", value };
  });
  return (obj) => requirements.every((r) => (fieldValue(obj, r.field) === r.value) !== r.negate);
}

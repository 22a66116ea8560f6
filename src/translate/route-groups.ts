// Route groups: all route entries for one host + path + pathType. Plain Ingresses
// (no weight or match annotation) conflict as the Ingress spec says (oldest wins);
// once any member is annotated, all members cooperate: conditioned members are
// tried most specific first, the rest split traffic by weight.
import type { Diagnostic, RouteGroup, RouteMember } from "../routing/index.ts";
import { routeGroup } from "../routing/index.ts";
import { describeRulePath, ingressDiagnostic } from "./diagnostics.ts";
import { conditionSetKey, conditionText, routeMember } from "./members.ts";
import { compareByAge, compareStrings } from "./ordering.ts";
import type { RouteEntry } from "./ingress-expansion.ts";

export interface BuiltGroup {
  hostKey: string;
  group: RouteGroup;
}

function groupKey(entry: RouteEntry): string {
  return JSON.stringify([entry.hostKey, entry.pathType, entry.pathKey]);
}

function ingressName(entry: RouteEntry): string {
  return entry.source.key;
}

function isPlain(entry: RouteEntry): boolean {
  const annotations = entry.source.annotations;
  return annotations.weight === undefined && annotations.conditions.length === 0;
}

function formatWeight(weight: number): string {
  return String(Number(weight.toFixed(2)));
}

function compareEntries(a: RouteEntry, b: RouteEntry): number {
  return compareByAge(a.source.ingress, b.source.ingress) || a.position - b.position;
}

/** Keeps each Ingress's first entry; later duplicates get a diagnostic. */
function dropDuplicates(sorted: readonly RouteEntry[], where: string, diagnostics: Diagnostic[]): RouteEntry[] {
  const firstByIngress = new Map<string, RouteEntry>();
  for (const entry of sorted) {
    const first = firstByIngress.get(entry.source.key);
    if (!first) {
      firstByIngress.set(entry.source.key, entry);
      continue;
    }
    diagnostics.push(
      ingressDiagnostic(
        entry.source.ingress.meta,
        "Warning",
        "DuplicatePath",
        `${where} is declared more than once in this Ingress (as ${JSON.stringify(first.pathText)} and ` +
          `${JSON.stringify(entry.pathText)}); the first, to ${first.backend.key}, is used`,
      ),
    );
  }
  return [...firstByIngress.values()];
}

function orderConditioned(entries: RouteEntry[], where: string, diagnostics: Diagnostic[]): RouteEntry[] {
  const ordered = [...entries].sort(
    (a, b) =>
      b.source.annotations.conditions.length - a.source.annotations.conditions.length || compareEntries(a, b),
  );
  const firstBySet = new Map<string, RouteEntry>();
  for (const entry of ordered) {
    const setKey = conditionSetKey(entry.source.annotations.conditions);
    const first = firstBySet.get(setKey);
    if (!first) {
      firstBySet.set(setKey, entry);
      continue;
    }
    const conditions = entry.source.annotations.conditions.map(conditionText).join(", ");
    diagnostics.push(
      ingressDiagnostic(
        entry.source.ingress.meta,
        "Warning",
        "ConditionShadowed",
        `${where}: Ingress ${ingressName(first)} has the same match conditions (${conditions}) and is tried first, ` +
          "so this Ingress never receives these requests",
      ),
    );
  }
  return ordered;
}

/** Effective weights of the unconditioned entries (same order), scaled when over 100. */
function effectiveWeights(entries: readonly RouteEntry[], where: string, diagnostics: Diagnostic[]): number[] {
  let annotatedSum = 0;
  let unannotated = 0;
  for (const entry of entries) {
    const weight = entry.source.annotations.weight;
    if (weight === undefined) unannotated++;
    else annotatedSum += weight;
  }
  if (annotatedSum <= 100) {
    const share = unannotated === 0 ? 0 : (100 - annotatedSum) / unannotated;
    return entries.map((e) => e.source.annotations.weight ?? share);
  }
  const weights = entries.map((e) => ((e.source.annotations.weight ?? 0) * 100) / annotatedSum);
  const given = entries
    .filter((e) => e.source.annotations.weight !== undefined)
    .map((e) => `${ingressName(e)}=${e.source.annotations.weight}`)
    .join(", ");
  const scaled = entries
    .map((e, i) => (e.source.annotations.weight === undefined ? "" : `${ingressName(e)}=${formatWeight(weights[i] ?? 0)}`))
    .filter((text) => text !== "")
    .join(", ");
  const unweighted = entries.filter((e) => e.source.annotations.weight === undefined).map(ingressName);
  const rest = unweighted.length === 0 ? "" : `; Ingresses without a weight (${unweighted.join(", ")}) get no traffic`;
  for (const entry of entries) {
    diagnostics.push(
      ingressDiagnostic(
        entry.source.ingress.meta,
        "Warning",
        "WeightsScaled",
        `${where}: turnout.dev/weight values add up to ${annotatedSum} (${given}), more than 100; ` +
          `scaled to ${scaled}${rest}`,
      ),
    );
  }
  return weights;
}

function toMember(entry: RouteEntry, weight: number): RouteMember {
  const { ingress, annotations } = entry.source;
  return routeMember(ingress.meta, entry.backend, annotations.conditions, weight, annotations.policy);
}

function buildGroup(bucket: readonly RouteEntry[], diagnostics: Diagnostic[]): RouteGroup | undefined {
  const sample = bucket[0];
  if (!sample) return undefined;
  const where = describeRulePath(sample.hostKey, sample.pathType === "Prefix" && sample.pathKey === "" ? "/" : sample.pathKey, sample.pathType);
  let entries = dropDuplicates([...bucket].sort(compareEntries), where, diagnostics);

  if (entries.every(isPlain) && entries.length > 1) {
    const [winner, ...losers] = entries as [RouteEntry, ...RouteEntry[]];
    for (const loser of losers) {
      diagnostics.push(
        ingressDiagnostic(
          loser.source.ingress.meta,
          "Warning",
          "PathConflict",
          `${where} is also defined by Ingress ${ingressName(winner)}, which was created earlier (or sorts first by ` +
            "namespace/name) and wins; annotate one of them with turnout.dev/weight or a match annotation to share the path",
        ),
      );
    }
    entries = [winner];
  }

  const conditioned = orderConditioned(
    entries.filter((e) => e.source.annotations.conditions.length > 0),
    where,
    diagnostics,
  );
  const unconditioned = entries.filter((e) => e.source.annotations.conditions.length === 0);
  const weights = effectiveWeights(unconditioned, where, diagnostics);
  const weighted = unconditioned
    .map((entry, i) => toMember(entry, weights[i] ?? 0))
    .filter((member) => member.weight > 0);

  if (conditioned.length === 0 && weighted.length === 0) return undefined;
  return routeGroup(sample.hostKey, sample.pathKey, sample.pathType, conditioned.map((entry) => toMember(entry, 0)), weighted);
}

/** Groups, sorted by host, path type and path; groups that take no traffic at all are left out. */
export function buildRouteGroups(entries: readonly RouteEntry[], diagnostics: Diagnostic[]): BuiltGroup[] {
  const buckets = new Map<string, RouteEntry[]>();
  for (const entry of entries) {
    const key = groupKey(entry);
    const bucket = buckets.get(key);
    if (bucket) bucket.push(entry);
    else buckets.set(key, [entry]);
  }
  const built: BuiltGroup[] = [];
  for (const key of [...buckets.keys()].sort(compareStrings)) {
    const bucket = buckets.get(key) ?? [];
    const group = buildGroup(bucket, diagnostics);
    if (group) built.push({ hostKey: group.host, group });
  }
  return built;
}

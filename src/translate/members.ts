// RouteMember construction: copies every value out of the Ingress and the
// BackendRef, so the table shares nothing with the snapshot. Policies come from the
// annotation parse (derived data, never mutated) and are shared as they are.
import type { BackendPolicy, BackendRef, MatchCondition, RouteGroup, RouteMember } from "../routing/index.ts";
import { routeGroup } from "../routing/index.ts";

export function copyBackend(backend: BackendRef): BackendRef {
  return { ...backend };
}

export function copyCondition(condition: MatchCondition): MatchCondition {
  const copy: MatchCondition = { source: condition.source, name: condition.name, op: condition.op };
  if (condition.value !== undefined) copy.value = condition.value;
  if (condition.regex !== undefined) copy.regex = new RegExp(condition.regex.source, condition.regex.flags);
  return copy;
}

export function routeMember(
  source: { namespace: string; name: string },
  backend: BackendRef,
  conditions: readonly MatchCondition[],
  weight: number,
  policy: BackendPolicy,
): RouteMember {
  return {
    source: { namespace: source.namespace, name: source.name },
    backend: copyBackend(backend),
    conditions: conditions.map(copyCondition),
    weight,
    policy,
  };
}

/** A group with one member taking all traffic: default backends and host fallbacks. */
export function singleBackendGroup(host: string, member: RouteMember): RouteGroup {
  return routeGroup(host, "", "Prefix", [], [member]);
}

/** `header x-canary = "always"`: how messages show conditions. */
export function conditionText(condition: MatchCondition): string {
  switch (condition.op) {
    case "present":
      return `${condition.source} ${condition.name} present`;
    case "equals":
      return `${condition.source} ${condition.name} = ${JSON.stringify(condition.value ?? "")}`;
    case "regex":
      return `${condition.source} ${condition.name} ~ ${JSON.stringify(condition.value ?? condition.regex?.source ?? "")}`;
  }
}

/** Order-independent identity of a condition set. */
export function conditionSetKey(conditions: readonly MatchCondition[]): string {
  return conditions
    .map((c) =>
      JSON.stringify([c.source, c.name, c.op, c.value ?? null, c.regex ? `${c.regex.source}/${c.regex.flags}` : null]),
    )
    .sort()
    .join("\n");
}

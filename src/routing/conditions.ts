// Request conditions of conditioned route members: header, cookie and query
// equals / regex / present checks. A repeated value matches if any of its values does.
import type { MatchCondition } from "./route-table.ts";
import type { RequestValues, RouteRequest } from "./request.ts";

function lookup(condition: MatchCondition, request: RouteRequest): RequestValues {
  switch (condition.source) {
    case "header":
      return request.header(condition.name);
    case "cookie":
      return request.cookie(condition.name);
    case "query":
      return request.query(condition.name);
  }
}

/**
 * Values longer than this never match a regex condition. The annotation checker
 * admits patterns whose worst case is quadratic (e.g. `.*-.*\.com` against a run of
 * dashes); bounding the input keeps that worst case near a millisecond (measured:
 * 0.9 ms at 1,024 characters, 13 ms at 4,096).
 */
export const MAX_REGEX_INPUT = 1024;

function valueMatches(condition: MatchCondition, value: string): boolean {
  switch (condition.op) {
    case "present":
      return true;
    case "equals":
      return condition.value !== undefined && value === condition.value;
    case "regex": {
      const regex = condition.regex;
      if (regex === undefined || value.length > MAX_REGEX_INPUT) return false;
      // A global or sticky RegExp keeps state between test() calls; start from 0.
      if (regex.global || regex.sticky) regex.lastIndex = 0;
      return regex.test(value);
    }
  }
}

export function conditionHolds(condition: MatchCondition, request: RouteRequest): boolean {
  const values = lookup(condition, request);
  if (values === undefined) return false;
  if (typeof values === "string") return valueMatches(condition, values);
  for (const value of values) {
    if (valueMatches(condition, value)) return true;
  }
  return false;
}

/** True when every condition holds (vacuously for none). */
export function conditionsHold(conditions: readonly MatchCondition[], request: RouteRequest): boolean {
  for (const condition of conditions) {
    if (!conditionHolds(condition, request)) return false;
  }
  return true;
}

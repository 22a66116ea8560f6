// Parses an Ingress's turnout.dev/* annotations into the route member's weight,
// match conditions and backend policy, reporting every problem at once. Pure.
import type { BackendPolicy, MatchCondition } from "../routing/route-table.ts";
import {
  ANNOTATION_NAMES,
  ANNOTATION_SCHEMAS,
  HASHING_POLICIES,
  type AnnotationName,
  type AnnotationValues,
} from "./annotation-schemas.ts";
import { formatDuration } from "./durations.ts";
import { closestMatch } from "./edit-distance.ts";

export const ANNOTATION_PREFIX = "turnout.dev/";
export const DEFAULT_AFFINITY_COOKIE_NAME = "turnout-affinity";

/** What one Ingress's turnout.dev/* annotations say, parsed and defaulted. */
export interface IngressAnnotations {
  /** turnout.dev/weight, 0-100; undefined when not annotated (shares the remainder). */
  weight?: number;
  /** From match-headers, match-cookies, match-query; empty when none. Order: headers, cookies, query, each as written. */
  conditions: MatchCondition[];
  /** Balancing, health, retry, timeout, TLS-redirect settings with defaults applied. */
  policy: BackendPolicy;
}

/** One problem with one annotation: which, the value as written, and why. */
export interface AnnotationProblem {
  /** Full key, e.g. "turnout.dev/weight". */
  annotation: string;
  value: string;
  /** Reads after the value, e.g. "must be an integer from 0 to 100". */
  message: string;
}

export type AnnotationParseResult =
  | { ok: true; value: IngressAnnotations; warnings: AnnotationProblem[] }
  | { ok: false; errors: AnnotationProblem[]; warnings: AnnotationProblem[] };

export const DEFAULT_BACKEND_POLICY: BackendPolicy = Object.freeze({
  loadBalance: "round-robin",
  ewmaDecayMs: 10_000,
  maxFails: 5,
  failOn5xx: false,
  retries: 1,
  retryOn: Object.freeze(["connect-failure"]) as BackendPolicy["retryOn"],
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
  sslRedirect: true,
});

export const DEFAULT_HEALTH_CHECK = Object.freeze({
  intervalMs: 10_000,
  timeoutMs: 2_000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
});

const HEALTH_CHECK_OPTIONS = [
  "health-check-interval",
  "health-check-timeout",
  "health-check-healthy-threshold",
  "health-check-unhealthy-threshold",
  "health-check-port",
] as const satisfies readonly AnnotationName[];

/** For log lines and Events: `turnout.dev/weight "101": must be an integer from 0 to 100`. */
export function formatAnnotationProblem(problem: AnnotationProblem): string {
  return `${problem.annotation} ${JSON.stringify(problem.value)}: ${problem.message}`;
}

/**
 * Pure. Unknown turnout.dev/* keys are warnings (typos must not pass silently);
 * invalid values are errors, all reported at once. Non-turnout annotations are ignored.
 */
export function parseIngressAnnotations(annotations: Readonly<Record<string, string>>): AnnotationParseResult {
  const errors: AnnotationProblem[] = [];
  const warnings: AnnotationProblem[] = [];
  const given = (name: AnnotationName): boolean => Object.hasOwn(annotations, ANNOTATION_PREFIX + name);
  const problem = (name: AnnotationName, message: string): AnnotationProblem => ({
    annotation: ANNOTATION_PREFIX + name,
    value: String(annotations[ANNOTATION_PREFIX + name]),
    message,
  });

  const parsed: Partial<AnnotationValues> = {};
  for (const name of ANNOTATION_NAMES) {
    if (given(name)) parseOne(parsed, name, annotations[ANNOTATION_PREFIX + name], (message) => errors.push(problem(name, message)));
  }
  const policy = resolvePolicy(parsed, given, {
    error: (name, message) => errors.push(problem(name, message)),
    warn: (name, message) => warnings.push(problem(name, message)),
  });
  const conditions = [...(parsed["match-headers"] ?? []), ...(parsed["match-cookies"] ?? []), ...(parsed["match-query"] ?? [])];
  if (parsed.weight !== undefined && conditions.length > 0) {
    warnings.push(problem("weight", "is ignored because this Ingress has match conditions: it takes exactly the requests that match"));
  }
  warnings.push(...unknownKeyWarnings(annotations));

  if (errors.length > 0) return { ok: false, errors, warnings };
  const value: IngressAnnotations = { conditions, policy };
  if (parsed.weight !== undefined) value.weight = parsed.weight;
  return { ok: true, value, warnings };
}

function parseOne<K extends AnnotationName>(
  parsed: Partial<AnnotationValues>,
  name: K,
  raw: unknown,
  fail: (message: string) => void,
): void {
  const schema = ANNOTATION_SCHEMAS[name];
  const result = schema.safeParse(raw);
  if (result.success) parsed[name] = result.data;
  else for (const issue of result.error.issues) fail(issue.message);
}

interface Report {
  error(name: AnnotationName, message: string): void;
  warn(name: AnnotationName, message: string): void;
}

/** Applies defaults and the rules between annotations. Rules skip annotations that failed to parse. */
function resolvePolicy(
  parsed: Partial<AnnotationValues>,
  given: (name: AnnotationName) => boolean,
  report: Report,
): BackendPolicy {
  const defaults = DEFAULT_BACKEND_POLICY;
  const hashBy = parsed["hash-by"];
  const chosen = parsed["load-balance"];
  let loadBalance = chosen ?? defaults.loadBalance;
  if (hashBy !== undefined && chosen === undefined) loadBalance = "ring-hash";
  if (hashBy !== undefined && chosen !== undefined && !HASHING_POLICIES.includes(chosen)) {
    report.error(
      "hash-by",
      `cannot be used with turnout.dev/load-balance "${chosen}": hashing needs ring-hash or maglev (leave load-balance out for ring-hash)`,
    );
  }
  if (chosen !== undefined && HASHING_POLICIES.includes(chosen) && !given("hash-by")) {
    report.error("load-balance", "needs turnout.dev/hash-by to say what to hash, e.g. header:X-User-Id or source-ip");
  }
  const loadBalanceKnown = chosen !== undefined || !given("load-balance");
  if (given("ewma-decay") && loadBalanceKnown && loadBalance !== "ewma") {
    report.warn("ewma-decay", 'is ignored: it is only used with turnout.dev/load-balance "ewma"');
  }

  const policy: BackendPolicy = {
    loadBalance,
    ewmaDecayMs: parsed["ewma-decay"] ?? defaults.ewmaDecayMs,
    maxFails: parsed["max-fails"] ?? defaults.maxFails,
    failOn5xx: parsed["fail-on-5xx"] ?? defaults.failOn5xx,
    retries: parsed.retries ?? defaults.retries,
    retryOn: parsed["retry-on"] ?? [...defaults.retryOn],
    connectTimeoutMs: parsed["connect-timeout"] ?? defaults.connectTimeoutMs,
    readTimeoutMs: parsed["read-timeout"] ?? defaults.readTimeoutMs,
    sslRedirect: parsed["ssl-redirect"] ?? defaults.sslRedirect,
  };
  if (hashBy !== undefined) policy.hashBy = hashBy;
  if (parsed.retries === 0 && given("retry-on")) {
    report.warn("retry-on", 'has no effect with turnout.dev/retries "0"');
  }
  if (parsed["send-timeout"] !== undefined) policy.sendTimeoutMs = parsed["send-timeout"];

  if (parsed.affinity !== undefined) {
    policy.affinity = { cookieName: parsed["affinity-cookie-name"] ?? DEFAULT_AFFINITY_COOKIE_NAME };
    const maxAge = parsed["affinity-cookie-max-age"];
    if (maxAge !== undefined) policy.affinity.maxAgeSeconds = maxAge;
  } else if (!given("affinity")) {
    for (const name of ["affinity-cookie-name", "affinity-cookie-max-age"] as const) {
      if (given(name)) report.warn(name, "is ignored without turnout.dev/affinity: cookie");
    }
  }

  const path = parsed["health-check-path"];
  if (path !== undefined) {
    policy.healthCheck = resolveHealthCheck(path, parsed, given, report);
  } else if (!given("health-check-path")) {
    for (const name of HEALTH_CHECK_OPTIONS) {
      if (given(name)) report.warn(name, "is ignored without turnout.dev/health-check-path");
    }
  }
  return policy;
}

function resolveHealthCheck(
  path: string,
  parsed: Partial<AnnotationValues>,
  given: (name: AnnotationName) => boolean,
  report: Report,
): NonNullable<BackendPolicy["healthCheck"]> {
  const intervalMs = parsed["health-check-interval"] ?? DEFAULT_HEALTH_CHECK.intervalMs;
  // An unset timeout never exceeds half the interval, so a short interval alone is valid.
  const timeoutMs = parsed["health-check-timeout"] ?? Math.min(DEFAULT_HEALTH_CHECK.timeoutMs, Math.floor(intervalMs / 2));
  const intervalInvalid = given("health-check-interval") && parsed["health-check-interval"] === undefined;
  if (parsed["health-check-timeout"] !== undefined && !intervalInvalid && timeoutMs >= intervalMs) {
    const interval = `${formatDuration(intervalMs)}${given("health-check-interval") ? "" : " by default"}`;
    report.error("health-check-timeout", `must be shorter than turnout.dev/health-check-interval (${interval})`);
  }
  const healthCheck: NonNullable<BackendPolicy["healthCheck"]> = {
    path,
    intervalMs,
    timeoutMs,
    healthyThreshold: parsed["health-check-healthy-threshold"] ?? DEFAULT_HEALTH_CHECK.healthyThreshold,
    unhealthyThreshold: parsed["health-check-unhealthy-threshold"] ?? DEFAULT_HEALTH_CHECK.unhealthyThreshold,
  };
  const port = parsed["health-check-port"];
  if (port !== undefined) healthCheck.port = port;
  return healthCheck;
}

/** Unknown turnout.dev/* keys, sorted, each with a suggestion when one is close. */
function unknownKeyWarnings(annotations: Readonly<Record<string, string>>): AnnotationProblem[] {
  const known: readonly string[] = ANNOTATION_NAMES;
  return Object.keys(annotations)
    .filter((key) => key.startsWith(ANNOTATION_PREFIX) && !known.includes(key.slice(ANNOTATION_PREFIX.length)))
    .sort()
    .map((key) => {
      const suggestion = closestMatch(key.slice(ANNOTATION_PREFIX.length).toLowerCase(), ANNOTATION_NAMES, 2);
      const hint = suggestion === undefined ? "see docs/annotations.md for the known ones" : `did you mean ${ANNOTATION_PREFIX}${suggestion}?`;
      return { annotation: key, value: String(annotations[key]), message: `is not a known turnout.dev annotation and is ignored; ${hint}` };
    });
}

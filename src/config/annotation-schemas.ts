// One zod schema per turnout.dev/* annotation, each turning the value as
// written into its typed meaning. Rules between annotations live in annotations.ts.
import { z } from "zod";
import type {
  HashKeySource,
  LoadBalancePolicy,
  MatchCondition,
  RetryCondition,
} from "../routing/route-table.ts";
import { LOAD_BALANCE_POLICIES } from "../routing/route-table.ts";
import { durationSchema } from "./durations.ts";
import { conditionListSchema, nameSchema } from "./match-conditions.ts";
import { booleanSchema, integerSchema, oneOfSchema, scalarString } from "./scalar.ts";


/** The policies that use turnout.dev/hash-by. */
export const HASHING_POLICIES: readonly LoadBalancePolicy[] = ["ring-hash", "maglev"];

export const RETRY_CONDITIONS = [
  "connect-failure",
  "reset",
  "timeout",
  "5xx",
  "gateway-error",
] as const satisfies readonly RetryCondition[];

/** Browsers cap cookie lifetimes at 400 days (RFC 6265bis), so longer is a mistake. */
export const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 60 * 60;
export const MAX_HEALTH_CHECK_PATH_LENGTH = 1024;
export const MIN_HEALTH_CHECK_INTERVAL_MS = 100;

/** Absolute path with optional query, RFC 3986 characters only; "//" would read as an authority. */
const HEALTH_CHECK_PATH = /^\/(?!\/)(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;

const WHOLE_REQUEST_KEYS = ["source-ip", "path", "uri", "host"] as const;
const HASH_BY_SYNTAX = /^(?:(?:header|cookie|query):.*|source-ip|path|uri|host)$/s;

const hashBySchema: z.ZodType<HashKeySource, string> = scalarString()
  .regex(HASH_BY_SYNTAX, `must be header:<name>, cookie:<name>, query:<name>, ${WHOLE_REQUEST_KEYS.join(", ")}`)
  .transform((text) => {
    const colon = text.indexOf(":");
    return colon < 0 ? { kind: text } : { kind: text.slice(0, colon), name: text.slice(colon + 1) };
  })
  .pipe(
    z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("header"), name: nameSchema("header") }),
      z.object({ kind: z.literal("cookie"), name: nameSchema("cookie") }),
      z.object({ kind: z.literal("query"), name: nameSchema("query") }),
      z.object({ kind: z.enum(WHOLE_REQUEST_KEYS) }),
    ]),
  );

/** Entries separated by commas or newlines, whitespace around them ignored, duplicates dropped. */
const retryOnSchema: z.ZodType<RetryCondition[], string> = z
  .string()
  .transform((text) => text.split(/[,\n]/).map((entry) => entry.trim()).filter((entry) => entry !== ""))
  .pipe(
    z
      .array(
        z.enum(RETRY_CONDITIONS, {
          error: (issue) => `${JSON.stringify(issue.input)} is not a retry condition; use ${RETRY_CONDITIONS.join(", ")}`,
        }),
      )
      .min(1, `lists no retry condition; use ${RETRY_CONDITIONS.join(", ")}`),
  )
  .transform((conditions) => [...new Set(conditions)]);

/** The typed meaning of each annotation, keyed by its name without the prefix. */
export interface AnnotationValues {
  weight: number;
  "match-headers": MatchCondition[];
  "match-cookies": MatchCondition[];
  "match-query": MatchCondition[];
  "load-balance": LoadBalancePolicy;
  "hash-by": HashKeySource;
  affinity: "cookie";
  "affinity-cookie-name": string;
  "affinity-cookie-max-age": number;
  "ewma-decay": number;
  "health-check-path": string;
  "health-check-interval": number;
  "health-check-timeout": number;
  "health-check-healthy-threshold": number;
  "health-check-unhealthy-threshold": number;
  "health-check-port": number;
  "max-fails": number;
  "fail-on-5xx": boolean;
  retries: number;
  "retry-on": RetryCondition[];
  "connect-timeout": number;
  "read-timeout": number;
  "send-timeout": number;
  "ssl-redirect": boolean;
}

export type AnnotationName = keyof AnnotationValues;

/** In the order annotations are checked and documented. */
export const ANNOTATION_SCHEMAS: { readonly [K in AnnotationName]: z.ZodType<AnnotationValues[K], string> } = {
  weight: integerSchema(0, 100),
  "match-headers": conditionListSchema("header"),
  "match-cookies": conditionListSchema("cookie"),
  "match-query": conditionListSchema("query"),
  "load-balance": oneOfSchema(LOAD_BALANCE_POLICIES),
  "hash-by": hashBySchema,
  affinity: oneOfSchema(["cookie"]),
  "affinity-cookie-name": scalarString().pipe(nameSchema("cookie")),
  "affinity-cookie-max-age": integerSchema(
    1,
    MAX_COOKIE_AGE_SECONDS,
    `must be a whole number of seconds from 1 to ${MAX_COOKIE_AGE_SECONDS} (400 days)`,
  ),
  "ewma-decay": durationSchema(),
  "health-check-path": scalarString()
    .max(MAX_HEALTH_CHECK_PATH_LENGTH, `must be at most ${MAX_HEALTH_CHECK_PATH_LENGTH} characters`)
    .regex(
      HEALTH_CHECK_PATH,
      "must be an absolute path such as /healthz: a single leading /, then only URL characters (no spaces, #, or non-ASCII; percent-encode them)",
    ),
  "health-check-interval": durationSchema({ minMs: MIN_HEALTH_CHECK_INTERVAL_MS }),
  "health-check-timeout": durationSchema(),
  "health-check-healthy-threshold": integerSchema(1, 100),
  "health-check-unhealthy-threshold": integerSchema(1, 100),
  "health-check-port": integerSchema(1, 65535),
  "max-fails": integerSchema(1, 1000),
  "fail-on-5xx": booleanSchema(),
  retries: integerSchema(0, 10),
  "retry-on": retryOnSchema,
  "connect-timeout": durationSchema(),
  "read-timeout": durationSchema(),
  "send-timeout": durationSchema(),
  "ssl-redirect": booleanSchema(),
};

export const ANNOTATION_NAMES = Object.keys(ANNOTATION_SCHEMAS) as AnnotationName[];

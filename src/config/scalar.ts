// zod building blocks for single-valued annotations. Scalar values are never
// trimmed: surrounding whitespace is an error, so " 10" cannot mean 10.
import { z } from "zod";

const WHITESPACE_MESSAGE = "must not have leading or trailing whitespace";

/** A string with no surrounding whitespace; later checks are skipped if it has some. */
export function scalarString(): z.ZodString {
  return z.string().refine((text) => text === text.trim(), { message: WHITESPACE_MESSAGE, abort: true });
}

/** Decimal digits only (no sign, point or exponent), within [min, max]. */
export function integerSchema(min: number, max: number, message = `must be an integer from ${min} to ${max}`): z.ZodType<number, string> {
  return scalarString()
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((value) => value >= min && value <= max, message);
}

/** Exactly "true" or "false". */
export function booleanSchema(): z.ZodType<boolean, string> {
  return scalarString()
    .refine((text) => text === "true" || text === "false", 'must be "true" or "false"')
    .transform((text) => text === "true");
}

/** One of `values`, spelled exactly. */
export function oneOfSchema<const T extends readonly [string, ...string[]]>(values: T): z.ZodType<T[number], string> {
  const message = `must be one of ${values.join(", ")}`;
  return scalarString().pipe(z.enum(values, { error: () => message }));
}

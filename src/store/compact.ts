// Compact storage for normalised objects, which live as long as the process and
// number tens of thousands: each gets strings and arrays of its own, sized to fit.
import type { ClusterObject } from "./objects.ts";

/** The labels or annotations of every object that has none: one frozen object, not one each. */
export const EMPTY_RECORD: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A copy of `object` that keeps nothing of the input it was parsed from. Parsers
 * return substrings that keep their whole source text alive (a YAML file's strings
 * hold the entire file) and arrays grown by push with spare capacity; a JSON round
 * trip gives flat strings, exact-size arrays, and the engine shares short string
 * values between objects. Normalised objects are plain JSON data, so nothing is lost.
 */
export function compactObject<T extends ClusterObject>(object: T): T {
  const copy = JSON.parse(JSON.stringify(object)) as T;
  if (Object.keys(copy.meta.labels).length === 0) copy.meta.labels = EMPTY_RECORD;
  if (Object.keys(copy.meta.annotations).length === 0) copy.meta.annotations = EMPTY_RECORD;
  return copy;
}

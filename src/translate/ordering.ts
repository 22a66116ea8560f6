// Deterministic orderings translation relies on: by age (creationTimestamp, then
// namespace/name), and plain code-unit string order (never locale-dependent).
import type { ObjectMeta } from "../store/index.ts";

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parsed timestamps by text: sorting compares the same few thousand strings many times. */
const parsedTimes = new Map<string, number>();

/** Milliseconds since the epoch; objects without a readable timestamp sort last. */
export function creationTime(meta: Pick<ObjectMeta, "creationTimestamp">): number {
  let time = parsedTimes.get(meta.creationTimestamp);
  if (time === undefined) {
    const parsed = Date.parse(meta.creationTimestamp);
    time = Number.isNaN(parsed) ? Number.POSITIVE_INFINITY : parsed;
    // Bounded: a cluster has far fewer distinct creation times than this.
    if (parsedTimes.size >= 100_000) parsedTimes.clear();
    parsedTimes.set(meta.creationTimestamp, time);
  }
  return time;
}

export function compareNamespacedNames(
  a: { namespace: string; name: string },
  b: { namespace: string; name: string },
): number {
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}

/** Oldest first; equal ages by namespace, then name. */
export function compareByAge(a: { meta: ObjectMeta }, b: { meta: ObjectMeta }): number {
  const ta = creationTime(a.meta);
  const tb = creationTime(b.meta);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return compareNamespacedNames(a.meta, b.meta);
}

/**
 * `items` sorted by `compare`, starting from the order of an earlier call: items
 * still present keep their place and new ones are appended before sorting, and
 * nearly sorted input sorts in about linear time. The result equals a fresh sort
 * whenever `compare` is a total order.
 */
export function sortLike<T>(items: Iterable<T>, present: { has(item: T): boolean }, previous: readonly T[], compare: (a: T, b: T) => number): T[] {
  const sorted = previous.filter((item) => present.has(item));
  const kept = new Set(sorted);
  for (const item of items) if (!kept.has(item)) sorted.push(item);
  return sorted.sort(compare);
}

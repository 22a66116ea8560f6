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

/** Inserts `item` into `sorted` (ascending by `compare`), after any equal items. */
export function insertSorted<T>(sorted: T[], item: T, compare: (a: T, b: T) => number): void {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compare(sorted[middle] as T, item) <= 0) low = middle + 1;
    else high = middle;
  }
  sorted.splice(low, 0, item);
}

/** Removes `item` (by identity) from `list`; returns whether it was there. */
export function removeItem<T>(list: T[], item: T): boolean {
  const index = list.indexOf(item);
  if (index < 0) return false;
  list.splice(index, 1);
  return true;
}

/** The index of `item` in `sorted` (code-unit order) by binary search, or -1. */
export function sortedIndexOf(sorted: readonly string[], item: string): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = sorted[middle] as string;
    if (value === item) return middle;
    if (value < item) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/** Removes `item` from `sorted` (code-unit order); returns whether it was there. */
export function removeSorted(sorted: string[], item: string): boolean {
  const index = sortedIndexOf(sorted, item);
  if (index >= 0) sorted.splice(index, 1);
  return index >= 0;
}

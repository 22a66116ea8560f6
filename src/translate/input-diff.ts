// What changed between two lists of store objects. The store replaces an object on
// every change and keeps the others, in the same order, so an identity walk finds
// the changes in one pass; any other order still gives a correct (longer) answer.
import { objectKey } from "../store/index.ts";

export interface ObjectChanges<T> {
  /** Objects of `next` that are not the same object as before (new or replaced). */
  changed: T[];
  /** Keys of `previous` objects not kept as they were; a key may also be in `changed`. */
  removed: string[];
}

export function diffObjects<T extends { meta: { namespace: string; name: string } }>(previous: readonly T[], next: readonly T[]): ObjectChanges<T> {
  const changed: T[] = [];
  const removed: string[] = [];
  let i = 0;
  let j = 0;
  while (i < previous.length && j < next.length) {
    const before = previous[i] as T;
    const after = next[j] as T;
    if (before === after) {
      i++;
      j++;
    } else if (objectKey(before.meta) === objectKey(after.meta)) {
      changed.push(after);
      i++;
      j++;
    } else {
      removed.push(objectKey(before.meta));
      i++;
    }
  }
  for (; i < previous.length; i++) removed.push(objectKey((previous[i] as T).meta));
  for (; j < next.length; j++) changed.push(next[j] as T);
  return { changed, removed };
}

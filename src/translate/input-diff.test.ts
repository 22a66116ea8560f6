// diffObjects finds replaced, added and removed store objects by identity, and
// stays correct (if longer) when the order changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { diffObjects } from "./input-diff.ts";

const object = (name: string, version = 1) => ({ meta: { namespace: "ns", name }, version });

function summary(changes: ReturnType<typeof diffObjects<ReturnType<typeof object>>>): string[] {
  const removed = changes.removed.filter((key) => !changes.changed.some((o) => `ns/${o.meta.name}` === key));
  return [...changes.changed.map((o) => `changed ${o.meta.name}@${o.version}`), ...removed.map((key) => `removed ${key}`)].sort();
}

void test("identity walk: same objects are unchanged; replaced, appended and deleted ones are reported", () => {
  const [a, b, c, d] = [object("a"), object("b"), object("c"), object("d")];
  const cases: { name: string; before: (typeof a)[]; after: (typeof a)[]; expected: string[] }[] = [
    { name: "nothing changed", before: [a, b, c], after: [a, b, c], expected: [] },
    { name: "replaced in place", before: [a, b, c], after: [a, object("b", 2), c], expected: ["changed b@2"] },
    { name: "appended", before: [a, b], after: [a, b, d], expected: ["changed d@1"] },
    { name: "deleted in the middle", before: [a, b, c], after: [a, c], expected: ["removed ns/b"] },
    { name: "deleted at the end", before: [a, b, c], after: [a, b], expected: ["removed ns/c"] },
    { name: "reordered: reported again, nothing lost", before: [a, b, c], after: [c, b, a], expected: ["changed a@1", "changed b@1"] },
  ];
  for (const c of cases) assert.deepEqual(summary(diffObjects(c.before, c.after)), c.expected, c.name);
});

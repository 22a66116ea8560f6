// Merge patch (RFC 7386) and JSON patch (RFC 6902) as the server applies them.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyJsonPatch, mergePatch, patchTypeOf } from "./patch.ts";
import { ApiError } from "./status.ts";

void describe("merge patch", () => {
  const cases: [string, unknown, unknown, unknown][] = [
    ["adds and replaces keys", { a: 1, b: { c: 2 } }, { b: { d: 3 }, e: 4 }, { a: 1, b: { c: 2, d: 3 }, e: 4 }],
    ["null removes a key", { a: 1, b: 2 }, { a: null }, { b: 2 }],
    ["lists are replaced, not merged", { l: [1, 2] }, { l: [3] }, { l: [3] }],
    ["a non-object patch replaces the target", { a: 1 }, [1], [1]],
  ];
  for (const [title, target, patch, expected] of cases) {
    void it(title, () => assert.deepEqual(mergePatch(target, patch), expected));
  }

  void it("leaves the target untouched", () => {
    const target = { a: { b: 1 } };
    mergePatch(target, { a: { b: 2 } });
    assert.deepEqual(target, { a: { b: 1 } });
  });
});

void describe("JSON patch", () => {
  const doc = { metadata: { labels: { "a/b": "1" } }, list: [1, 2, 3] };
  const cases: [string, unknown[], unknown][] = [
    ["add to an object", [{ op: "add", path: "/metadata/x", value: 1 }], { metadata: { labels: { "a/b": "1" }, x: 1 }, list: [1, 2, 3] }],
    ["add with an escaped key and append with -", [{ op: "add", path: "/metadata/labels/c~1d", value: "2" }, { op: "add", path: "/list/-", value: 4 }], { metadata: { labels: { "a/b": "1", "c/d": "2" } }, list: [1, 2, 3, 4] }],
    ["insert into a list", [{ op: "add", path: "/list/0", value: 0 }], { metadata: { labels: { "a/b": "1" } }, list: [0, 1, 2, 3] }],
    ["remove and replace", [{ op: "remove", path: "/metadata/labels/a~1b" }, { op: "replace", path: "/list/1", value: 9 }], { metadata: { labels: {} }, list: [1, 9, 3] }],
    ["move and copy", [{ op: "move", from: "/list", path: "/moved" }, { op: "copy", from: "/moved/0", path: "/first" }], { metadata: { labels: { "a/b": "1" } }, moved: [1, 2, 3], first: 1 }],
    ["a passing test", [{ op: "test", path: "/metadata", value: { labels: { "a/b": "1" } } }], doc],
  ];
  for (const [title, ops, expected] of cases) {
    void it(title, () => assert.deepEqual(applyJsonPatch(doc, ops), expected));
  }

  void it("rejects failing tests, missing paths and bad operations", () => {
    const bad: [unknown, number][] = [
      [[{ op: "test", path: "/list/0", value: 2 }], 422],
      [[{ op: "replace", path: "/nope", value: 1 }], 422],
      [[{ op: "remove", path: "/list/7" }], 422],
      [[{ op: "frobnicate", path: "/x" }], 400],
      [{ op: "add" }, 400],
    ];
    for (const [ops, code] of bad) {
      assert.throws(() => applyJsonPatch(doc, ops), (e: unknown) => e instanceof ApiError && e.code === code, JSON.stringify(ops));
    }
  });
});

void describe("patch content types", () => {
  void it("maps the three Kubernetes patch types and refuses others with 415", () => {
    assert.equal(patchTypeOf("application/merge-patch+json"), "merge");
    assert.equal(patchTypeOf("application/strategic-merge-patch+json; charset=utf-8"), "merge");
    assert.equal(patchTypeOf("application/json-patch+json"), "json");
    assert.throws(() => patchTypeOf("application/apply-patch+yaml"), (e: unknown) => e instanceof ApiError && e.code === 415);
  });
});

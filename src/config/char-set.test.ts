// Code-point set operations the regex checker relies on.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ANY_CHAR, DIGIT, DOT, EMPTY_SET, MAX_CODE_POINT, SPACE, WORD, charSetOf, complement, intersection, intersects, union } from "./char-set.ts";

void describe("char sets", () => {
  void it("normalises unsorted, overlapping and adjacent ranges", () => {
    assert.deepEqual(charSetOf([[10, 12], [1, 3], [4, 5], [11, 20], [30, 29]]), [[1, 5], [10, 20]]);
  });
  void it("complements within the code point space", () => {
    assert.deepEqual(complement(EMPTY_SET), ANY_CHAR);
    assert.deepEqual(complement(ANY_CHAR), EMPTY_SET);
    assert.deepEqual(complement([[0, 9], [20, MAX_CODE_POINT]]), [[10, 19]]);
  });
  void it("intersects range lists", () => {
    assert.deepEqual(intersection([[0, 10], [20, 30]], [[5, 25]]), [[5, 10], [20, 25]]);
    assert.equal(intersects(DIGIT, WORD), true);
    assert.equal(intersects(DIGIT, SPACE), false);
    assert.equal(intersects(DOT, [[10, 10]]), false);
  });
  void it("unions sets", () => {
    assert.deepEqual(union(DIGIT, [[58, 60]]), [[48, 60]]);
  });
});

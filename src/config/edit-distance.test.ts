// Edit distance and the nearest-candidate pick behind "did you mean ...?".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closestMatch, editDistance } from "./edit-distance.ts";

void describe("editDistance", () => {
  const cases: [string, string, number][] = [
    ["", "", 0],
    ["weight", "weight", 0],
    ["", "abc", 3],
    ["abc", "", 3],
    ["wieght", "weight", 2],
    ["weigth", "weight", 2],
    ["weights", "weight", 1],
    ["retry", "retries", 3],
    ["kitten", "sitting", 3],
  ];
  for (const [a, b, distance] of cases) {
    void it(`${JSON.stringify(a)} -> ${JSON.stringify(b)} is ${distance}`, () => {
      assert.equal(editDistance(a, b), distance);
      assert.equal(editDistance(b, a), distance);
    });
  }
});

void describe("closestMatch", () => {
  const candidates = ["retries", "retry-on", "read-timeout"];
  void it("picks the nearest candidate within the limit", () => {
    assert.equal(closestMatch("retry-om", candidates, 2), "retry-on");
    assert.equal(closestMatch("retires", candidates, 2), "retries");
  });
  void it("returns undefined when nothing is close enough", () => {
    assert.equal(closestMatch("timeout", candidates, 2), undefined);
  });
  void it("breaks ties in favour of the earlier candidate", () => {
    assert.equal(closestMatch("ab", ["aa", "bb"], 2), "aa");
  });
});

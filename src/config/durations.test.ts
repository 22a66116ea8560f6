// Duration annotation values: accepted spellings, their milliseconds, and the
// messages for the rejected ones.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { durationSchema, formatDuration } from "./durations.ts";

const SYNTAX = "must be a duration such as 500ms, 10s, 1m or 1m30s (whole numbers with units h, m, s, ms, largest first)";

void describe("durationSchema", () => {
  const valid: [string, number][] = [
    ["1ms", 1],
    ["500ms", 500],
    ["10s", 10_000],
    ["1m", 60_000],
    ["1m30s", 90_000],
    ["2s500ms", 2_500],
    ["1h", 3_600_000],
    ["59m59s999ms", 3_599_999],
    ["90s", 90_000],
    ["007s", 7_000],
  ];
  for (const [text, ms] of valid) {
    void it(`parses ${JSON.stringify(text)} as ${ms} ms`, () => {
      assert.equal(durationSchema().parse(text), ms);
    });
  }

  const invalid: [string, string][] = [
    ["", SYNTAX],
    ["10", SYNTAX],
    ["1.5s", SYNTAX],
    ["-1s", SYNTAX],
    ["1s1m", SYNTAX],
    ["10S", SYNTAX],
    ["ms", SYNTAX],
    ["1d", SYNTAX],
    ["1m 30s", SYNTAX],
    [" 10s", "must not have leading or trailing whitespace"],
    ["10s\n", "must not have leading or trailing whitespace"],
    ["0s", "must be longer than zero"],
    ["0ms", "must be longer than zero"],
    ["1h1ms", "must be at most 1h"],
    ["2h", "must be at most 1h"],
    ["99999999999999999999h", "must be at most 1h"],
  ];
  for (const [text, message] of invalid) {
    void it(`rejects ${JSON.stringify(text)}`, () => {
      const result = durationSchema().safeParse(text);
      assert.equal(result.success, false);
      assert.deepEqual(result.error?.issues.map((issue) => issue.message), [message]);
    });
  }

  void it("applies custom bounds", () => {
    const schema = durationSchema({ minMs: 100, maxMs: 30_000 });
    assert.deepEqual(schema.safeParse("99ms").error?.issues.map((issue) => issue.message), ["must be at least 100ms"]);
    assert.deepEqual(schema.safeParse("31s").error?.issues.map((issue) => issue.message), ["must be at most 30s"]);
    assert.equal(schema.parse("100ms"), 100);
    assert.equal(schema.parse("30s"), 30_000);
  });
});

void describe("formatDuration", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1ms"],
    [1_500, "1s500ms"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [3_661_001, "1h1m1s1ms"],
  ];
  for (const [ms, text] of cases) {
    void it(`formats ${ms} ms as ${text}`, () => {
      assert.equal(formatDuration(ms), text);
      if (ms > 0) assert.equal(durationSchema({ maxMs: Infinity }).parse(text), ms);
    });
  }
});

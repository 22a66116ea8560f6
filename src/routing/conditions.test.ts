// Condition evaluation limits.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { conditionHolds, MAX_REGEX_INPUT } from "./conditions.ts";
import type { RouteRequest } from "./request.ts";

void describe("regex input bound", () => {
  void it("a value longer than MAX_REGEX_INPUT never matches a regex, however permissive", () => {
    const condition = { source: "header" as const, name: "x-id", op: "regex" as const, value: ".*", regex: /^(?:.*)$/u };
    const request = (value: string): RouteRequest => ({ host: "", path: "/", header: () => value, cookie: () => undefined, query: () => undefined });
    assert.equal(conditionHolds(condition, request("a".repeat(MAX_REGEX_INPUT))), true);
    assert.equal(conditionHolds(condition, request("a".repeat(MAX_REGEX_INPUT + 1))), false);
  });
});

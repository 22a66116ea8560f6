// Retry rules: what each turnout.dev/retry-on condition allows, per method.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RetryCondition } from "../routing/route-table.ts";
import { failureKind, retryAllowed } from "./retry-policy.ts";
import type { AttemptResult } from "./retry-policy.ts";

const cases: [RetryCondition[], AttemptResult, string, boolean][] = [
  [["connect-failure"], { failure: "connect" }, "GET", true],
  [["connect-failure"], { failure: "connect" }, "POST", true],
  [["connect-failure"], { failure: "reset" }, "GET", false],
  [["connect-failure"], { failure: "timeout" }, "GET", false],
  [["connect-failure"], { status: 503 }, "GET", false],
  [["reset"], { failure: "reset" }, "GET", true],
  [["reset"], { failure: "reset" }, "POST", false],
  [["timeout"], { failure: "timeout" }, "GET", true],
  [["timeout"], { failure: "timeout" }, "PATCH", false],
  [["5xx"], { status: 500 }, "GET", true],
  [["5xx"], { status: 503 }, "PUT", true],
  [["5xx"], { status: 500 }, "POST", false],
  [["5xx"], { status: 404 }, "GET", false],
  [["gateway-error"], { status: 502 }, "GET", true],
  [["gateway-error"], { status: 500 }, "GET", false],
  [["gateway-error"], { failure: "connect" }, "GET", true],
  [["gateway-error"], { failure: "protocol" }, "GET", true],
  [["gateway-error"], { failure: "connect" }, "POST", false],
];

for (const [retryOn, result, method, expected] of cases) {
  test(`retry-on ${retryOn.join(",")}: ${JSON.stringify(result)} ${method} -> ${expected ? "retry" : "no retry"}`, () => {
    assert.equal(retryAllowed(retryOn, result, method), expected);
  });
}

test("errors are classified by their code", () => {
  const kind = (code: string): string => failureKind(Object.assign(new Error(code), { code }));
  assert.equal(kind("ECONNREFUSED"), "connect");
  assert.equal(kind("TURNOUT_CONNECT_TIMEOUT"), "connect");
  assert.equal(kind("TURNOUT_READ_TIMEOUT"), "timeout");
  assert.equal(kind("HPE_INVALID_CONSTANT"), "protocol");
  assert.equal(kind("ECONNRESET"), "reset");
});

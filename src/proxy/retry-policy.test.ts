// Retry rules: what each turnout.dev/retry-on condition allows, per method.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RetryCondition } from "../routing/route-table.ts";
import { errors } from "undici";
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
  // The request never left: gateway-error covers connection failures for every method (docs/health-and-resilience.md).
  [["gateway-error"], { failure: "connect" }, "POST", true],
  [["gateway-error"], { failure: "protocol" }, "POST", false],
];

for (const [retryOn, result, method, expected] of cases) {
  test(`retry-on ${retryOn.join(",")}: ${JSON.stringify(result)} ${method} -> ${expected ? "retry" : "no retry"}`, () => {
    assert.equal(retryAllowed(retryOn, result, method), expected);
  });
}

const classified: [string, string][] = [
  ["ECONNREFUSED", "connect"],
  ["TURNOUT_CONNECT_TIMEOUT", "connect"],
  ["UND_ERR_CONNECT_TIMEOUT", "connect"],
  ["TURNOUT_READ_TIMEOUT", "timeout"],
  ["TURNOUT_SEND_TIMEOUT", "timeout"],
  ["UND_ERR_HEADERS_TIMEOUT", "timeout"],
  ["UND_ERR_BODY_TIMEOUT", "timeout"],
  ["HPE_INVALID_CONSTANT", "protocol"],
  ["UND_ERR_RES_CONTENT_LENGTH_MISMATCH", "protocol"],
  ["ECONNRESET", "reset"],
  ["UND_ERR_SOCKET", "reset"],
  ["EPIPE", "reset"],
];

for (const [code, kind] of classified) {
  test(`error code ${code} is a ${kind} failure`, () => {
    assert.equal(failureKind(Object.assign(new Error(code), { code })), kind);
  });
}

test("undici's parser error, which carries no code, is a protocol failure", () => {
  // llhttp's numeric error is not mapped to a name, so undici leaves `code` undefined.
  const error = new errors.HTTPParserError("Response does not match the HTTP/1.1 protocol (Invalid status code)");
  assert.equal(error.code, undefined);
  assert.equal(failureKind(error), "protocol");
});

test("an error without a code is a reset", () => {
  assert.equal(failureKind(new Error("socket hang up")), "reset");
});

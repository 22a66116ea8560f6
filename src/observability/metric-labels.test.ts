// Label normalisation keeps metric cardinality bounded; bad event fields are sanitised.
import { test } from "node:test";
import assert from "node:assert/strict";
import { labelValue, nonNegative, normaliseMethod, statusLabel } from "./metric-labels.ts";

test("methods normalise to the nine standard ones or OTHER", () => {
  const cases: [unknown, string][] = [
    ["GET", "GET"],
    ["HEAD", "HEAD"],
    ["POST", "POST"],
    ["PUT", "PUT"],
    ["DELETE", "DELETE"],
    ["PATCH", "PATCH"],
    ["OPTIONS", "OPTIONS"],
    ["CONNECT", "CONNECT"],
    ["TRACE", "TRACE"],
    ["MKCOL", "OTHER"],
    ["Get", "OTHER"],
    ["", "OTHER"],
    [undefined, "OTHER"],
  ];
  for (const [method, label] of cases) assert.equal(normaliseMethod(method), label, String(method));
});

test("status codes become their numeric string; anything else becomes 0", () => {
  const cases: [unknown, string][] = [
    [200, "200"],
    [404, "404"],
    [599, "599"],
    [100, "100"],
    [999, "999"],
    [99, "0"],
    [1000, "0"],
    [200.5, "0"],
    [Number.NaN, "0"],
    ["200", "0"],
  ];
  for (const [code, label] of cases) assert.equal(statusLabel(code), label, String(code));
});

test("label values and amounts are sanitised", () => {
  assert.equal(labelValue("shop"), "shop");
  assert.equal(labelValue(3), "");
  assert.equal(labelValue(undefined), "");
  assert.equal(nonNegative(0), 0);
  assert.equal(nonNegative(1.5), 1.5);
  assert.equal(nonNegative(-1), undefined);
  assert.equal(nonNegative(Number.POSITIVE_INFINITY), undefined);
  assert.equal(nonNegative("1"), undefined);
});

// Keeps src/errors.ts and docs/errors.md in step, in both directions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ERRORS } from "./errors.ts";

const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
const documented = new Map(
  [...doc.matchAll(/^\| `(TURNOUT_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1] ?? "", Number(m[2])]),
);

test("every error code is documented with its status", () => {
  for (const [code, { status }] of Object.entries(ERRORS)) {
    assert.equal(documented.get(code), status, `${code} missing or with another status in docs/errors.md`);
  }
});

test("docs/errors.md lists no code the code base lacks", () => {
  for (const code of documented.keys()) assert.ok(code in ERRORS, `${code} is documented but not in src/errors.ts`);
});

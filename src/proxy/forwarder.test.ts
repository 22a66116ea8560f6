// The engine choice from TURNOUT_PROXY_ENGINE, and the rules both engines share.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FORWARD_ENGINE, FAILURE_CODES, parseForwardEngine } from "./forwarder.ts";
import { ERRORS } from "../errors.ts";

const engines: [string | undefined, string][] = [
  [undefined, DEFAULT_FORWARD_ENGINE],
  ["", DEFAULT_FORWARD_ENGINE],
  ["undici", "undici"],
  ["http-proxy", "http-proxy"],
  [" HTTP-PROXY ", "http-proxy"],
];
for (const [value, engine] of engines) {
  test(`TURNOUT_PROXY_ENGINE=${JSON.stringify(value)} -> ${engine}`, () => {
    assert.deepEqual(parseForwardEngine(value), { ok: true, engine });
  });
}

test("undici is the default engine", () => {
  assert.equal(DEFAULT_FORWARD_ENGINE, "undici");
});

test("an unknown engine is a clear error naming the choices", () => {
  const parsed = parseForwardEngine("nginx");
  assert.equal(parsed.ok, false);
  assert.match(parsed.ok ? "" : parsed.error, /TURNOUT_PROXY_ENGINE: unknown forwarding engine "nginx"; expected one of undici, http-proxy/);
});

test("failed attempts map to 502, timeouts to 504", () => {
  assert.deepEqual(
    Object.fromEntries(Object.entries(FAILURE_CODES).map(([kind, code]) => [kind, ERRORS[code].status])),
    { connect: 502, reset: 502, timeout: 504, protocol: 502 },
  );
});

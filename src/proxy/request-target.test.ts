// Request targets (origin-form, absolute-form, refused forms) and the port a client addressed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addressedPort, hostHeader, requestTarget, withHost } from "./request-target.ts";

const targets: [string, string | undefined, ReturnType<typeof requestTarget>][] = [
  ["/a?b=1", "shop.test", { url: "/a?b=1", host: "shop.test", rewritten: false }],
  ["/", undefined, { url: "/", host: undefined, rewritten: false }],
  ["http://shop.test/a?b=1", "other.test", { url: "/a?b=1", host: "shop.test", rewritten: true }],
  ["HTTPS://shop.test:8443", "other.test", { url: "/", host: "shop.test:8443", rewritten: true }],
  ["http://shop.test?q=1", undefined, { url: "/?q=1", host: "shop.test", rewritten: true }],
  ["http://[::1]:8080/x", undefined, { url: "/x", host: "[::1]:8080", rewritten: true }],
  ["*", "shop.test", undefined],
  ["shop.test:443", "shop.test", undefined],
  ["a/b", "shop.test", undefined],
  ["http:///a", "shop.test", undefined],
  ["http://user:pw@shop.test/", "shop.test", undefined],
  ["ftp://shop.test/", "shop.test", undefined],
];

for (const [url, host, expected] of targets) {
  test(`request target ${JSON.stringify(url)} with Host ${String(host)} -> ${JSON.stringify(expected)}`, () => {
    assert.deepEqual(requestTarget(url, host), expected);
  });
}

const ports: [string | undefined, "http" | "https", string | undefined][] = [
  [undefined, "http", "80"],
  ["shop.test", "https", "443"],
  ["shop.test:8080", "https", "8080"],
  ["shop.test:", "http", "80"],
  ["[::1]", "http", "80"],
  ["[::1]:9000", "http", "9000"],
  ["shop.test:http", "http", undefined],
  ["shop.test:65536", "http", undefined],
  ["shop.test:123456", "http", undefined],
];

for (const [host, proto, expected] of ports) {
  test(`the port addressed by Host ${String(host)} over ${proto} is ${String(expected)}`, () => {
    assert.equal(addressedPort(host, proto), expected);
  });
}

test("withHost replaces the first Host, drops repeats, and adds one when missing", () => {
  assert.deepEqual(withHost(["Host", "a", "Accept", "*/*", "host", "b"], "c"), ["Host", "c", "Accept", "*/*"]);
  assert.deepEqual(withHost(["Accept", "*/*"], "c"), ["Accept", "*/*", "Host", "c"]);
});

test("hostHeader: the one Host value whatever the spelling; none; several is null", () => {
  assert.equal(hostHeader(["Accept", "*/*", "HOST", "a.test"]), "a.test");
  assert.equal(hostHeader(["Accept", "*/*"]), undefined);
  assert.equal(hostHeader(["Host", "a.test", "host", "b.test"]), null);
});

// Header rewriting at the proxy boundary: what the upstream receives and what the
// client gets back, in both forms (node header objects and flat raw lists).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { endToEndHeaderList, setForwardedHeaders, stripHopByHop, upstreamHeaderList } from "./forward-headers.ts";
import { isReplayable } from "./retry-policy.ts";

const ctx = { clientIp: "10.1.2.3", proto: "https" as const, port: "8443" };

/** A flat [name, value, ...] list as name -> values (lower-case names), for order-independent checks. */
function asMap(list: readonly (string | string[])[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = String(list[i]).toLowerCase();
    const value = list[i + 1]!;
    map.set(name, [...(map.get(name) ?? []), ...(Array.isArray(value) ? value : [value])]);
  }
  return map;
}

void describe("upstreamHeaderList (request headers from node's rawHeaders)", () => {
  test("end-to-end headers pass in order with the client's spelling; forwarding headers are added", () => {
    const list = upstreamHeaderList(["Host", "shop.test:8443", "User-Agent", "curl/8", "Accept", "*/*"], ctx);
    assert.deepEqual(list, [
      "Host", "shop.test:8443", "User-Agent", "curl/8", "Accept", "*/*",
      "x-forwarded-for", "10.1.2.3", "x-forwarded-proto", "https", "x-forwarded-host", "shop.test:8443", "x-forwarded-port", "8443", "x-real-ip", "10.1.2.3",
    ]);
  });

  test("hop-by-hop headers, those Connection names, and Expect are dropped", () => {
    const list = upstreamHeaderList(
      [
        "Host", "a.test", "Connection", "keep-alive, X-Secret", "Keep-Alive", "timeout=5", "X-Secret", "1", "TE", "trailers",
        "Proxy-Authorization", "Basic eA==", "Transfer-Encoding", "chunked", "Upgrade", "h2c", "Expect", "100-continue", "Trailer", "x", "X-Kept", "yes",
      ],
      ctx,
    );
    const names = [...asMap(list).keys()];
    for (const gone of ["connection", "keep-alive", "x-secret", "te", "proxy-authorization", "transfer-encoding", "upgrade", "expect", "trailer"]) {
      assert.ok(!names.includes(gone), `${gone} must not be forwarded`);
    }
    assert.deepEqual(asMap(list).get("x-kept"), ["yes"]);
  });

  test("client X-Forwarded-For values are kept and the client's address appended; its other forwarding headers are replaced", () => {
    const list = upstreamHeaderList(
      ["host", "a.test", "X-Forwarded-For", "1.1.1.1", "x-forwarded-for", "2.2.2.2, 3.3.3.3", "X-Forwarded-Proto", "ftp", "X-Real-IP", "6.6.6.6", "X-Forwarded-Port", "1"],
      ctx,
    );
    const map = asMap(list);
    assert.deepEqual(map.get("x-forwarded-for"), ["1.1.1.1, 2.2.2.2, 3.3.3.3, 10.1.2.3"]);
    assert.deepEqual(map.get("x-forwarded-proto"), ["https"]);
    assert.deepEqual(map.get("x-real-ip"), ["10.1.2.3"]);
    assert.deepEqual(map.get("x-forwarded-port"), ["8443"]);
  });

  test("repeated end-to-end headers stay separate lines; a repeated Host keeps its first value", () => {
    const map = asMap(upstreamHeaderList(["Host", "first.test", "Host", "second.test", "X-Multi", "a", "X-Multi", "b"], ctx));
    assert.deepEqual(map.get("host"), ["first.test"]);
    assert.deepEqual(map.get("x-forwarded-host"), ["first.test"]);
    assert.deepEqual(map.get("x-multi"), ["a", "b"]);
  });

  test("without Host there is no X-Forwarded-Host", () => {
    assert.equal(asMap(upstreamHeaderList(["Accept", "*/*"], ctx)).has("x-forwarded-host"), false);
  });

  test("Connection cannot remove Host", () => {
    assert.deepEqual(asMap(upstreamHeaderList(["Host", "a.test", "Connection", "host, x-drop", "X-Drop", "1"], ctx)).get("host"), ["a.test"]);
  });
});

void describe("endToEndHeaderList (response headers for the client)", () => {
  test("hop-by-hop response headers are dropped, others kept with all their values", () => {
    const list = endToEndHeaderList(
      { "content-type": "text/plain", connection: "keep-alive", "keep-alive": "timeout=5", "transfer-encoding": "chunked", "set-cookie": ["a=1", "b=2"], "content-length": undefined },
      undefined,
    );
    assert.deepEqual(list, ["content-type", "text/plain", "set-cookie", ["a=1", "b=2"]]);
  });

  test("headers the upstream's Connection header names are dropped", () => {
    assert.deepEqual(endToEndHeaderList({ connection: "close, X-Internal", "x-internal": "1", etag: '"x"' }, undefined), ["etag", '"x"']);
  });

  const cookieCases: [string, Record<string, string | string[]>, (string | string[])[]][] = [
    ["no Set-Cookie yet", { etag: "1" }, ["etag", "1", "set-cookie", "sticky=ab"]],
    ["one Set-Cookie", { "set-cookie": "a=1" }, ["set-cookie", ["a=1", "sticky=ab"]]],
    ["several Set-Cookie", { "set-cookie": ["a=1", "b=2"] }, ["set-cookie", ["a=1", "b=2", "sticky=ab"]]],
  ];
  for (const [name, headers, expected] of cookieCases) {
    test(`the sticky-session cookie is appended: ${name}`, () => {
      assert.deepEqual(endToEndHeaderList(headers, "sticky=ab"), expected);
    });
  }
});

void describe("node header objects (http-proxy engine, upgrades)", () => {
  test("stripHopByHop removes hop-by-hop and Connection-named headers; keeps Upgrade for upgrades", () => {
    const headers: IncomingHttpHeaders = { host: "a", connection: "Upgrade, X-Hop", upgrade: "websocket", "x-hop": "1", te: "trailers", accept: "*/*" };
    stripHopByHop(headers, true);
    assert.deepEqual(headers, { host: "a", connection: "Upgrade, X-Hop", upgrade: "websocket", accept: "*/*" });
    stripHopByHop(headers, false);
    assert.deepEqual(headers, { host: "a", accept: "*/*" });
  });

  test("setForwardedHeaders appends to X-Forwarded-For and sets the others", () => {
    const headers: IncomingHttpHeaders = { host: "a.test", "x-forwarded-for": "1.1.1.1", "x-forwarded-proto": "ftp" };
    setForwardedHeaders(headers, ctx);
    assert.deepEqual(headers, {
      host: "a.test",
      "x-forwarded-for": "1.1.1.1, 10.1.2.3",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "a.test",
      "x-forwarded-port": "8443",
      "x-real-ip": "10.1.2.3",
    });
  });
});

void describe("raw header lookups", () => {

  const replayable: [string, string[], boolean][] = [
    ["no body headers", ["Host", "a"], true],
    ["Content-Length 0", ["Content-Length", "0"], true],
    ["Content-Length > 0", ["content-length", "12"], false],
    ["Transfer-Encoding", ["Transfer-Encoding", "chunked"], false],
  ];
  for (const [name, raw, expected] of replayable) {
    test(`isReplayable: ${name} -> ${expected}`, () => {
      assert.equal(isReplayable(raw), expected);
    });
  }
});

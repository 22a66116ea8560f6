import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { normaliseRequestHost, parseCookieHeader, routeRequestFromHttp } from "./request.ts";

void describe("normaliseRequestHost", () => {
  const cases: [string, string][] = [
    ["foo.example.com", "foo.example.com"],
    ["Foo.Example.COM", "foo.example.com"],
    ["foo.example.com:8080", "foo.example.com"],
    ["FOO.example.com.", "foo.example.com"],
    ["foo.example.com.:443", "foo.example.com"],
    ["[::1]:8080", "::1"],
    ["[::1]", "::1"],
    ["[2001:DB8::1]:80", "2001:db8::1"],
    ["::1", "::1"],
    ["10.0.0.1:80", "10.0.0.1"],
    ["", ""],
    [" foo.com ", "foo.com"],
    ["foo.example.com.", "foo.example.com"],
    ["my-app_1.example.com", "my-app_1.example.com"],
    ["10.0.0.1", "10.0.0.1"],
    [".", ""],
  ];
  for (const [raw, expected] of cases) {
    void it(`${JSON.stringify(raw)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(normaliseRequestHost(raw), expected);
    });
  }
});

void describe("parseCookieHeader", () => {
  void it("splits pairs, trims, unquotes, keeps repeated names and values containing '='", () => {
    const cookies = parseCookieHeader(['a=1; b="two" ;c=x=y', "a=3; broken; =nameless"]);
    assert.deepEqual([...cookies], [
      ["a", ["1", "3"]],
      ["b", ["two"]],
      ["c", ["x=y"]],
    ]);
  });
});

void describe("routeRequestFromHttp", () => {
  void it("splits path from query and reads headers, cookies and query values", () => {
    const request = routeRequestFromHttp({
      host: "Example.com:80",
      url: "/a/b?x=1&x=2&y=hello%20world&z=a+b",
      headers: { "x-env": ["blue", "green"], cookie: "session=abc; canary=always", accept: "*/*" },
    });
    assert.equal(request.host, "Example.com:80");
    assert.equal(request.path, "/a/b");
    assert.deepEqual(request.header("x-env"), ["blue", "green"]);
    assert.equal(request.header("accept"), "*/*");
    assert.equal(request.header("missing"), undefined);
    assert.deepEqual(request.cookie("canary"), ["always"]);
    assert.equal(request.cookie("nope"), undefined);
    assert.deepEqual(request.query("x"), ["1", "2"]);
    assert.deepEqual(request.query("y"), ["hello world"]);
    assert.deepEqual(request.query("z"), ["a b"]);
    assert.equal(request.query("nope"), undefined);
  });

  void it("handles a request without Host, query or cookies", () => {
    const request = routeRequestFromHttp({ host: undefined, url: "/", headers: {} });
    assert.equal(request.host, "");
    assert.equal(request.path, "/");
    assert.equal(request.cookie("a"), undefined);
    assert.equal(request.query("a"), undefined);
  });
});

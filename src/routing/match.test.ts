import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matchRoute, pickMember, selectHostRoutes } from "./match.ts";
import type { MatchCondition } from "./route-table.ts";
import { seededRandom } from "../balancer/seeded-random.ts";
import { fakeRequest, group, hostRoutes, member, table } from "./test-tables.ts";

const never = (): number => {
  throw new Error("random() must not be called here");
};

function backendFor(t: ReturnType<typeof table>, host: string, path: string): string {
  return matchRoute(t, fakeRequest({ host, path }), never)?.member.backend.service ?? "404";
}

void describe("host selection", () => {
  const t = table(
    [
      hostRoutes("foo.example.com", { "": "exact-foo" }),
      hostRoutes("*.example.com", { "": "wildcard" }),
      hostRoutes("only-api.example.com", { "/api": "api" }),
      hostRoutes("", { "": "any" }),
    ],
    "global-default",
  );
  const cases: [string, string][] = [
    ["foo.example.com", "exact-foo"],
    ["FOO.Example.com:8080", "exact-foo"],
    ["foo.example.com.", "exact-foo"],
    ["bar.example.com", "wildcard"],
    ["BAR.example.com:443", "wildcard"],
    ["a.b.example.com", "any"], // a wildcard covers exactly one label
    ["example.com", "any"],
    [".example.com", "any"], // empty first label
    ["other.org", "any"],
    ["[::1]:8080", "any"],
    ["", "any"],
    // A host that has routes never falls through to wildcard or any-host rules.
    ["only-api.example.com", "global-default"],
  ];
  for (const [host, expected] of cases) {
    void it(`${JSON.stringify(host)} -> ${expected}`, () => {
      assert.equal(backendFor(t, host, "/x"), expected);
    });
  }

  void it("selectHostRoutes returns the chosen entry", () => {
    assert.equal(selectHostRoutes(t, "bar.example.com")?.host, "*.example.com");
    assert.equal(selectHostRoutes(table([]), "bar.example.com"), undefined);
  });
});

void describe("path matching", () => {
  const t = table([
    hostRoutes("example.com", {
      "": "root",
      "/foo": "foo-prefix",
      "Exact:/foo": "foo-exact",
      "Exact:/foo/": "foo-slash-exact",
      "/foo/bar": "foobar",
      "/a.b": "dot",
      "/Case": "case",
    }),
  ]);
  const cases: [string, string][] = [
    ["/", "root"],
    ["", "root"],
    ["/foo", "foo-exact"],
    ["/foo/", "foo-slash-exact"],
    ["/foo//", "foo-prefix"],
    ["/foo/baz", "foo-prefix"],
    ["/foo/bar", "foobar"],
    ["/foo/bar/", "foobar"],
    ["/foo/bar/baz", "foobar"],
    ["/foo/barista", "foo-prefix"],
    ["/foobar", "root"],
    ["/a.b/c", "dot"],
    ["/aXb", "root"], // "." is literal
    ["/case", "root"], // case-sensitive
    ["/Case/x", "case"],
    ["*", "root"],
  ];
  for (const [path, expected] of cases) {
    void it(`${JSON.stringify(path)} -> ${expected}`, () => {
      assert.equal(backendFor(t, "example.com", path), expected);
    });
  }

  void it("uses the host fallback, then the default backend, then 404", () => {
    const withFallback = table([hostRoutes("a.com", { "/api": "api" }, "a-fallback"), hostRoutes("b.com", { "/api": "api" })], "global");
    const viaFallback = matchRoute(withFallback, fakeRequest({ host: "a.com", path: "/web" }), never);
    assert.equal(viaFallback?.member.backend.service, "a-fallback");
    assert.equal(viaFallback?.via, "fallback");
    const viaDefault = matchRoute(withFallback, fakeRequest({ host: "b.com", path: "/web" }), never);
    assert.equal(viaDefault?.member.backend.service, "global");
    assert.equal(viaDefault?.via, "default");
    assert.equal(viaDefault?.hostRoutes?.host, "b.com");
    const viaRoute = matchRoute(withFallback, fakeRequest({ host: "a.com", path: "/api/v1" }), never);
    assert.equal(viaRoute?.via, "route");
    assert.equal(matchRoute(table([hostRoutes("b.com", { "/api": "api" })]), fakeRequest({ host: "b.com", path: "/" }), never), undefined);
  });
});

const headerIs = (name: string, value: string): MatchCondition => ({ source: "header", name, op: "equals", value });

void describe("route group members", () => {
  void it("tries conditioned members in order, then falls through to a shorter prefix when none holds", () => {
    const routes = hostRoutes("example.com", { "": "root" });
    routes.prefix.set(
      "/app",
      group("example.com", "/app", "Prefix", [
        member("two-conditions", { conditions: [headerIs("x-a", "1"), headerIs("x-b", "1")] }),
        member("one-condition", { conditions: [headerIs("x-a", "1")] }),
      ]),
    );
    const t = table([routes]);
    const pick = (headers: Record<string, string>): string =>
      matchRoute(t, fakeRequest({ host: "example.com", path: "/app/x", headers }), never)?.member.backend.service ?? "404";
    assert.equal(pick({ "x-a": "1", "x-b": "1" }), "two-conditions");
    assert.equal(pick({ "x-a": "1" }), "one-condition");
    assert.equal(pick({ "x-b": "1" }), "root");
    assert.equal(pick({}), "root");
  });

  const conditionCases: { name: string; condition: MatchCondition; request: Parameters<typeof fakeRequest>[0]; holds: boolean }[] = [
    { name: "header equals", condition: headerIs("x-env", "canary"), request: { headers: { "x-env": "canary" } }, holds: true },
    { name: "header equals is case-sensitive in the value", condition: headerIs("x-env", "canary"), request: { headers: { "x-env": "Canary" } }, holds: false },
    { name: "header equals, any of several values", condition: headerIs("x-env", "canary"), request: { headers: { "x-env": ["a", "canary"] } }, holds: true },
    { name: "header absent", condition: headerIs("x-env", "canary"), request: {}, holds: false },
    { name: "header present with empty value", condition: { source: "header", name: "x-debug", op: "present" }, request: { headers: { "x-debug": "" } }, holds: true },
    { name: "header present, absent", condition: { source: "header", name: "x-debug", op: "present" }, request: {}, holds: false },
    { name: "header regex", condition: { source: "header", name: "user-agent", op: "regex", value: ".*Mobile.*", regex: /^(?:.*Mobile.*)$/ }, request: { headers: { "user-agent": "Foo Mobile Bar" } }, holds: true },
    { name: "header regex no match", condition: { source: "header", name: "user-agent", op: "regex", value: ".*Mobile.*", regex: /^(?:.*Mobile.*)$/ }, request: { headers: { "user-agent": "Desktop" } }, holds: false },
    { name: "global regex is not stateful", condition: { source: "header", name: "x", op: "regex", regex: /^a$/g }, request: { headers: { x: ["a", "a"] } }, holds: true },
    { name: "cookie equals", condition: { source: "cookie", name: "canary", op: "equals", value: "always" }, request: { cookies: { canary: "always" } }, holds: true },
    { name: "cookie other value", condition: { source: "cookie", name: "canary", op: "equals", value: "always" }, request: { cookies: { canary: "never" } }, holds: false },
    { name: "cookie regex, any value", condition: { source: "cookie", name: "c", op: "regex", regex: /^v\d$/ }, request: { cookies: { c: ["x", "v2"] } }, holds: true },
    { name: "query present", condition: { source: "query", name: "beta", op: "present" }, request: { query: { beta: "" } }, holds: true },
    { name: "query equals", condition: { source: "query", name: "v", op: "equals", value: "2" }, request: { query: { v: ["1", "2"] } }, holds: true },
    { name: "query absent", condition: { source: "query", name: "v", op: "equals", value: "2" }, request: {}, holds: false },
  ];
  for (const c of conditionCases) {
    void it(`condition: ${c.name} -> ${c.holds ? "holds" : "does not hold"}`, () => {
      const g = group("", "", "Prefix", [member("conditioned", { conditions: [c.condition] })]);
      assert.equal(pickMember(g, fakeRequest(c.request), never)?.backend.service, c.holds ? "conditioned" : undefined);
    });
  }

  void it("reads no header, cookie or query when no condition needs them", () => {
    const t = table([hostRoutes("example.com", { "": "root" })]);
    const request = fakeRequest({ host: "example.com", path: "/x" });
    assert.equal(matchRoute(t, request, never)?.member.backend.service, "root");
    assert.deepEqual(request.lookups, { header: 0, cookie: 0, query: 0 });
  });

  void it("only a group with no choice to make (one unconditioned member, no conditioned) takes its fast path", () => {
    const only = member("only", { weight: 100 });
    const conditioned = member("conditioned", { conditions: [headerIs("x-a", "1")] });
    assert.equal(group("", "", "Prefix", [only]).sole, only);
    assert.equal(group("", "", "Prefix", [only, member("canary", { weight: 10 })]).sole, undefined);
    assert.equal(group("", "", "Prefix", [member("idle", { weight: 0 })]).sole, undefined);
    const mixed = group("", "", "Prefix", [conditioned, only]);
    assert.equal(mixed.sole, undefined);
    assert.equal(pickMember(mixed, fakeRequest({ headers: { "x-a": "1" } }), never)?.backend.service, "conditioned");
  });

  void it("splits weighted traffic by weight: a 10% canary gets 10% +/- 2 points of 10,000 requests", () => {
    const g = group("", "", "Prefix", [member("stable", { weight: 90 }), member("canary", { weight: 10 })]);
    const random = seededRandom(20240601);
    const request = fakeRequest({});
    let canary = 0;
    const total = 10_000;
    for (let i = 0; i < total; i++) {
      if (pickMember(g, request, random)?.backend.service === "canary") canary++;
    }
    const percent = (canary / total) * 100;
    assert.ok(percent >= 8 && percent <= 12, `canary share ${percent}% is outside 10 +/- 2`);
  });

  void it("weights are relative to the group's total and fractional weights work", () => {
    const g = group("", "", "Prefix", [
      member("a", { weight: 100 / 3 }),
      member("b", { weight: 100 / 3 }),
      member("c", { weight: 100 / 3 }),
    ]);
    const values = [0, 0.3333, 0.34, 0.6666, 0.67, 0.999999];
    const picks = values.map((v) => pickMember(g, fakeRequest({}), () => v)?.backend.service);
    assert.deepEqual(picks, ["a", "a", "b", "b", "c", "c"]);
  });
});

// Host and path semantics of the Ingress v1 spec, including the path examples table
// of the Kubernetes Ingress documentation, translated and then matched.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildRouteTable } from "./build-route-table.ts";
import { backend, ingress, path, reasons, routeOf, rule, service, snapshot } from "./test-objects.ts";

void describe("hosts", () => {
  const result = buildRouteTable(
    snapshot({
      ingresses: [
        ingress("hosts", [
          rule("foo.example.com", path("/", "Prefix", backend("exact", 80))),
          rule("*.example.com", path("/", "Prefix", backend("wildcard", 80))),
          rule("API.Example.com", path("/v1", "Prefix", backend("api", 80))),
          rule(undefined, path("/", "Prefix", backend("any", 80))),
        ]),
      ],
      services: ["exact", "wildcard", "api", "any"].map((n) => service(n)),
    }),
  );
  const cases: [string, string, string][] = [
    ["foo.example.com", "/", "exact:80"],
    ["FOO.EXAMPLE.COM:8443", "/x", "exact:80"],
    ["bar.example.com", "/", "wildcard:80"],
    ["x.bar.example.com", "/", "any:80"],
    ["example.com", "/", "any:80"],
    ["api.example.com", "/v1/users", "api:80"],
    // Host first, then that host's paths only: no fall-through to the wildcard or any-host rules.
    ["api.example.com", "/v2", "404"],
    ["unknown.org", "/", "any:80"],
    ["", "/", "any:80"],
  ];
  for (const [host, p, expected] of cases) {
    void it(`${JSON.stringify(host)} ${p} -> ${expected}`, () => {
      assert.equal(routeOf(result, host, p), expected);
    });
  }
  void it("stores rule hosts lower-case", () => {
    assert.deepEqual([...result.table.exactHosts.keys()], ["api.example.com", "foo.example.com"]);
    assert.deepEqual([...result.table.wildcardHosts.keys()], ["example.com"]);
    assert.equal(result.table.wildcardHosts.get("example.com")?.host, "*.example.com");
  });

  const invalidHosts = ["foo.com:8080", "foo_bar.com", "foo.*.com", "*.foo.*.com", "*", "*foo.com", "10.0.0.1", "-foo.com", "foo..com", "foo.com.", "[::1]"];
  for (const host of invalidHosts) {
    void it(`rejects rule host ${JSON.stringify(host)} with InvalidHost; the other rules still route`, () => {
      const r = buildRouteTable(
        snapshot({
          ingresses: [
            ingress("mixed", [rule(host, path("/", "Prefix", backend("web", 80))), rule("ok.example.com", path("/", "Prefix", backend("web", 80)))]),
          ],
          services: [service("web")],
        }),
      );
      assert.deepEqual(reasons(r), ["default/mixed InvalidHost"]);
      assert.match(r.diagnostics[0]?.message ?? "", new RegExp(JSON.stringify(host).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      assert.equal(routeOf(r, "ok.example.com", "/"), "web:80");
    });
  }
});

interface SpecExample {
  paths: [string, string][];
  request: string;
  /** Index into `paths` of the rule that takes the request; undefined: none does. */
  expected: number | undefined;
}

// The path examples table of the Kubernetes Ingress documentation.
const specExamples: SpecExample[] = [
  { paths: [["Prefix", "/"]], request: "/anything/at/all", expected: 0 },
  { paths: [["Exact", "/foo"]], request: "/foo", expected: 0 },
  { paths: [["Exact", "/foo"]], request: "/bar", expected: undefined },
  { paths: [["Exact", "/foo"]], request: "/foo/", expected: undefined },
  { paths: [["Exact", "/foo/"]], request: "/foo", expected: undefined },
  { paths: [["Prefix", "/foo"]], request: "/foo", expected: 0 },
  { paths: [["Prefix", "/foo"]], request: "/foo/", expected: 0 },
  { paths: [["Prefix", "/foo/"]], request: "/foo", expected: 0 },
  { paths: [["Prefix", "/foo/"]], request: "/foo/", expected: 0 },
  { paths: [["Prefix", "/aaa/bb"]], request: "/aaa/bbb", expected: undefined },
  { paths: [["Prefix", "/aaa/bbb"]], request: "/aaa/bbb", expected: 0 },
  { paths: [["Prefix", "/aaa/bbb/"]], request: "/aaa/bbb", expected: 0 },
  { paths: [["Prefix", "/aaa/bbb"]], request: "/aaa/bbb/", expected: 0 },
  { paths: [["Prefix", "/aaa/bbb"]], request: "/aaa/bbb/ccc", expected: 0 },
  { paths: [["Prefix", "/aaa/bbb"]], request: "/aaa/bbbxyz", expected: undefined },
  { paths: [["Prefix", "/"], ["Prefix", "/aaa"]], request: "/aaa/ccc", expected: 1 },
  { paths: [["Prefix", "/"], ["Prefix", "/aaa"], ["Prefix", "/aaa/bbb"]], request: "/aaa/bbb", expected: 2 },
  { paths: [["Prefix", "/"], ["Prefix", "/aaa"], ["Prefix", "/aaa/bbb"]], request: "/ccc", expected: 0 },
  { paths: [["Prefix", "/aaa"]], request: "/ccc", expected: undefined },
  { paths: [["Prefix", "/foo"], ["Exact", "/foo"]], request: "/foo", expected: 1 },
  // Beyond the documentation table:
  { paths: [["Exact", "/foo"], ["Prefix", "/foo"]], request: "/foo", expected: 0 },
  { paths: [["Exact", "/Foo"]], request: "/foo", expected: undefined },
  { paths: [["Prefix", "/Foo"]], request: "/foo/bar", expected: undefined },
  { paths: [["Prefix", "/foo"], ["Exact", "/foo/bar"]], request: "/foo/bar/", expected: 0 },
  { paths: [["ImplementationSpecific", "/foo"]], request: "/foo/bar", expected: 0 },
  { paths: [["ImplementationSpecific", "/foo"]], request: "/foobar", expected: undefined },
  { paths: [["ImplementationSpecific", "/foo/"]], request: "/foo", expected: 0 },
  { paths: [["Prefix", "/api/.*"]], request: "/api/v1", expected: undefined },
  { paths: [["Prefix", "/api/.*"]], request: "/api/.*/x", expected: 0 },
  { paths: [["ImplementationSpecific", "/foo(/|$)(.*)"]], request: "/foo/bar", expected: undefined },
  { paths: [["Prefix", "/"], ["Exact", "/"]], request: "/", expected: 1 },
];

void describe("paths: the Kubernetes documentation examples and more", () => {
  for (const example of specExamples) {
    const label = example.paths.map(([t, p]) => `${t} ${p}`).join(" + ");
    const expectedText = example.expected === undefined ? "no match" : `${example.paths[example.expected]?.join(" ")}`;
    void it(`${label}: ${example.request} -> ${expectedText}`, () => {
      const result = buildRouteTable(
        snapshot({
          ingresses: [ingress("paths", [rule("example.com", ...example.paths.map(([type, p], i) => path(p, type, backend(`p${i}`, 80))))])],
          services: example.paths.map((_, i) => service(`p${i}`)),
        }),
      );
      assert.deepEqual(result.diagnostics, []);
      assert.equal(routeOf(result, "example.com", example.request), example.expected === undefined ? "404" : `p${example.expected}:80`);
    });
  }
});

void describe("path validation", () => {
  const cases: { name: string; path: string | undefined; pathType: string; reason?: string; routes?: [string, boolean][] }[] = [
    { name: "a missing Prefix path means /", path: undefined, pathType: "Prefix", routes: [["/anything", true]] },
    { name: "an empty ImplementationSpecific path means /", path: "", pathType: "ImplementationSpecific", routes: [["/x/y", true]] },
    { name: "a missing Exact path is invalid", path: undefined, pathType: "Exact", reason: "InvalidPath" },
    { name: "a path must start with /", path: "foo", pathType: "Prefix", reason: "InvalidPath" },
    { name: "an ImplementationSpecific path must start with /", path: "foo", pathType: "ImplementationSpecific", reason: "InvalidPath" },
    { name: "// is refused in Prefix paths", path: "/foo//bar", pathType: "Prefix", reason: "InvalidPath" },
    { name: "/../ is refused in Exact paths", path: "/a/../b", pathType: "Exact", reason: "InvalidPath" },
    { name: "a trailing /. is refused", path: "/a/.", pathType: "Prefix", reason: "InvalidPath" },
    { name: "an unknown pathType", path: "/foo", pathType: "Regex", reason: "InvalidPathType" },
    { name: "an empty pathType", path: "/foo", pathType: "", reason: "InvalidPathType" },
  ];
  for (const c of cases) {
    void it(`${c.name}${c.reason ? ` (${c.reason}; other paths still route)` : ""}`, () => {
      const result = buildRouteTable(
        snapshot({
          ingresses: [ingress("v", [rule("example.com", path(c.path, c.pathType, backend("tested", 80)), path("/ok", "Exact", backend("ok", 80)))])],
          services: [service("tested"), service("ok")],
        }),
      );
      assert.deepEqual(reasons(result), c.reason ? [`default/v ${c.reason}`] : []);
      if (c.reason) assert.match(result.diagnostics[0]?.message ?? "", /example\.com/);
      assert.equal(routeOf(result, "example.com", "/ok"), "ok:80");
      for (const [p, routed] of c.routes ?? []) assert.equal(routeOf(result, "example.com", p), routed ? "tested:80" : "404");
    });
  }
});

// Route groups: the classic PathConflict between plain Ingresses, and cooperation
// (weights, remainder sharing, scaling, weight 0, conditions) once one is annotated.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../balancer/seeded-random.ts";
import { buildRouteTable } from "./build-route-table.ts";
import type { Ingress } from "../store/index.ts";
import { at, backend, ingress, path, reasons, routeOf, rule, service, simpleIngress, snapshot } from "./test-objects.ts";

const HOST = "shop.example.com";
const weight = (w: number): Record<string, string> => ({ "turnout.dev/weight": String(w) });
const headers = (spec: string): Record<string, string> => ({ "turnout.dev/match-headers": spec });

function translate(ingresses: Ingress[]) {
  const refs = new Set(
    ingresses.flatMap((i) => i.rules.flatMap((r) => r.paths.map((p) => `${i.meta.namespace}/${p.backend.service?.name ?? ""}`))),
  );
  const services = [...refs].map((ref) => {
    const [namespace = "", name = ""] = ref.split("/");
    return service(name, [80], { namespace });
  });
  return buildRouteTable(snapshot({ ingresses, services }));
}

function weightsOf(result: ReturnType<typeof translate>, p = ""): [string, number][] {
  const group = result.table.exactHosts.get(HOST)?.prefix.get(p);
  return (group?.weighted ?? []).map((m) => [m.source.name, Number(m.weight.toFixed(4))]);
}

void describe("PathConflict between plain Ingresses", () => {
  void it("the oldest wins, the other gets PathConflict and keeps its other paths", () => {
    const result = translate([
      ingress("newer", [rule(HOST, path("/", "Prefix", backend("newer", 80)), path("/only-newer", "Exact", backend("newer", 80)))], { created: at(5) }),
      simpleIngress("older", HOST, "/", "older", { created: at(1) }),
    ]);
    assert.deepEqual(reasons(result), ["default/newer PathConflict"]);
    assert.match(result.diagnostics[0]?.message ?? "", /"\/" \(Prefix\) of host "shop\.example\.com".*default\/older/);
    assert.equal(routeOf(result, HOST, "/x"), "older:80");
    assert.equal(routeOf(result, HOST, "/only-newer"), "newer:80");
    assert.deepEqual(weightsOf(result), [["older", 100]]);
  });

  const winners: { name: string; a: Ingress; b: Ingress; winner: string }[] = [
    {
      name: "same age: first by namespace",
      a: simpleIngress("z", HOST, "/", "in-a", { namespace: "a", created: at(1) }),
      b: simpleIngress("a", HOST, "/", "in-b", { namespace: "b", created: at(1) }),
      winner: "in-a",
    },
    {
      name: "same age and namespace: first by name",
      a: simpleIngress("beta", HOST, "/", "beta", { created: at(1) }),
      b: simpleIngress("alpha", HOST, "/", "alpha", { created: at(1) }),
      winner: "alpha",
    },
    {
      name: "no timestamp sorts after any timestamp",
      a: simpleIngress("a-undated", HOST, "/", "undated", { created: "" }),
      b: simpleIngress("b-dated", HOST, "/", "dated", { created: at(59) }),
      winner: "dated",
    },
    {
      name: "timestamps compare as instants, not text",
      a: simpleIngress("a", HOST, "/", "later", { created: "2024-01-01T01:00:00Z" }),
      b: simpleIngress("b", HOST, "/", "earlier", { created: "2024-01-01T01:30:00+02:00" }),
      winner: "earlier",
    },
  ];
  for (const w of winners) {
    void it(`${w.name}`, () => {
      for (const order of [[w.a, w.b], [w.b, w.a]]) {
        const result = translate(order);
        assert.equal(routeOf(result, HOST, "/"), `${w.winner}:80`);
        assert.equal(result.diagnostics.filter((d) => d.reason === "PathConflict").length, 1);
      }
    });
  }

  void it("Prefix /foo and /foo/ are the same path; ImplementationSpecific /foo is Prefix /foo", () => {
    const result = translate([
      ingress("slash", [rule(HOST, path("/foo/", "Prefix", backend("slash", 80)))], { created: at(2) }),
      ingress("impl", [rule(HOST, path("/foo", "ImplementationSpecific", backend("impl", 80)))], { created: at(3) }),
      ingress("plain", [rule(HOST, path("/foo", "Prefix", backend("plain", 80)))], { created: at(1) }),
    ]);
    assert.deepEqual(reasons(result), ["default/impl PathConflict", "default/slash PathConflict"]);
    assert.equal(routeOf(result, HOST, "/foo/x"), "plain:80");
  });

  void it("the same path with different path types does not conflict", () => {
    const result = translate([
      ingress("exact", [rule(HOST, path("/foo", "Exact", backend("exact", 80)))], { created: at(2) }),
      ingress("prefix", [rule(HOST, path("/foo", "Prefix", backend("prefix", 80)))], { created: at(1) }),
    ]);
    assert.deepEqual(result.diagnostics, []);
    assert.equal(routeOf(result, HOST, "/foo"), "exact:80");
    assert.equal(routeOf(result, HOST, "/foo/bar"), "prefix:80");
  });

  void it("a path declared twice in one Ingress keeps the first declaration (DuplicatePath)", () => {
    const result = translate([
      ingress("dup", [
        rule(HOST, path("/api", "Prefix", backend("first", 80))),
        rule(HOST, path("/api/", "Prefix", backend("second", 80))),
      ]),
    ]);
    assert.deepEqual(reasons(result), ["default/dup DuplicatePath"]);
    assert.match(result.diagnostics[0]?.message ?? "", /"\/api" and "\/api\/".*default\/first:80/);
    assert.equal(routeOf(result, HOST, "/api"), "first:80");
  });
});

void describe("weighted route groups", () => {
  const cases: { name: string; ingresses: Ingress[]; weights: [string, number][]; diagnostics?: string[] }[] = [
    {
      name: "a 10% canary next to a plain Ingress: the plain one gets the remaining 90",
      ingresses: [simpleIngress("stable", HOST, "/", "stable", { created: at(1) }), simpleIngress("canary", HOST, "/", "canary", { created: at(2), annotations: weight(10) })],
      weights: [["stable", 90], ["canary", 10]],
    },
    {
      name: "two plain Ingresses and a 10% canary: the plain ones share 90 equally",
      ingresses: [
        simpleIngress("a", HOST, "/", "a", { created: at(1) }),
        simpleIngress("b", HOST, "/", "b", { created: at(2) }),
        simpleIngress("canary", HOST, "/", "canary", { created: at(3), annotations: weight(10) }),
      ],
      weights: [["a", 45], ["b", 45], ["canary", 10]],
    },
    {
      name: "three plain Ingresses share 100 - 0 in thirds when the annotated one has weight 0",
      ingresses: [
        simpleIngress("a", HOST, "/", "a", { created: at(1) }),
        simpleIngress("b", HOST, "/", "b", { created: at(2) }),
        simpleIngress("c", HOST, "/", "c", { created: at(3) }),
        simpleIngress("dark", HOST, "/", "dark", { created: at(4), annotations: weight(0) }),
      ],
      weights: [["a", 33.3333], ["b", 33.3333], ["c", 33.3333]],
    },
    {
      name: "annotated weights below 100 in total are kept as given; with no plain member they split traffic as relative shares",
      ingresses: [simpleIngress("a", HOST, "/", "a", { created: at(1), annotations: weight(20) }), simpleIngress("b", HOST, "/", "b", { created: at(2), annotations: weight(30) })],
      weights: [["a", 20], ["b", 30]],
    },
    {
      name: "weights adding up to 100 leave nothing for a plain Ingress",
      ingresses: [simpleIngress("plain", HOST, "/", "plain", { created: at(1) }), simpleIngress("all", HOST, "/", "all", { created: at(2), annotations: weight(100) })],
      weights: [["all", 100]],
    },
    {
      name: "weights over 100 are scaled down proportionally, with WeightsScaled on every member",
      ingresses: [
        simpleIngress("a", HOST, "/", "a", { created: at(1), annotations: weight(100) }),
        simpleIngress("b", HOST, "/", "b", { created: at(2), annotations: weight(50) }),
        simpleIngress("plain", HOST, "/", "plain", { created: at(3) }),
      ],
      weights: [["a", 66.6667], ["b", 33.3333]],
      diagnostics: ["default/a WeightsScaled", "default/b WeightsScaled", "default/plain WeightsScaled"],
    },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      const result = translate(c.ingresses);
      assert.deepEqual(reasons(result), c.diagnostics ?? []);
      assert.deepEqual(weightsOf(result), c.weights);
      const group = result.table.exactHosts.get(HOST)?.prefix.get("");
      const sum = group?.weighted.reduce((total, m) => total + m.weight, 0);
      assert.equal(group?.totalWeight, sum);
    });
  }

  void it("WeightsScaled names the sum and the scaled weights", () => {
    const result = translate(cases[5]?.ingresses ?? []);
    assert.match(result.diagnostics[0]?.message ?? "", /add up to 150 \(default\/a=100, default\/b=50\).*scaled to default\/a=66\.67, default\/b=33\.33.*default\/plain/);
  });

  void it("requests follow the weights", () => {
    const result = translate(cases[0]?.ingresses ?? []);
    assert.equal(routeOf(result, HOST, "/", {}, () => 0.5), "stable:80");
    assert.equal(routeOf(result, HOST, "/", {}, () => 0.89), "stable:80");
    assert.equal(routeOf(result, HOST, "/", {}, () => 0.91), "canary:80");
  });

  void it("a 10% canary Ingress gets 10% +/- 2 points of 10,000 seeded-random requests", () => {
    const result = translate(cases[0]?.ingresses ?? []);
    const random = seededRandom(424242);
    let canary = 0;
    for (let i = 0; i < 10_000; i++) if (routeOf(result, HOST, "/page", {}, random) === "canary:80") canary++;
    const percent = canary / 100;
    assert.ok(percent >= 8 && percent <= 12, `canary share ${percent}% is outside 10 +/- 2`);
  });

  void it("a group whose only member has weight 0 takes no traffic: the request falls to a shorter prefix", () => {
    const result = translate([
      simpleIngress("root", HOST, "/", "root", { created: at(1) }),
      simpleIngress("dark", HOST, "/new", "dark", { created: at(2), annotations: weight(0) }),
    ]);
    assert.equal(routeOf(result, HOST, "/new/page"), "root:80");
    assert.equal(result.table.exactHosts.get(HOST)?.prefix.has("/new"), false);
  });
});

void describe("conditioned route groups", () => {
  const ingresses = [
    simpleIngress("stable", HOST, "/", "stable", { created: at(1) }),
    simpleIngress("one-old", HOST, "/", "one-old", { created: at(2), annotations: headers("X-Env=canary") }),
    simpleIngress("two", HOST, "/", "two", { created: at(3), annotations: { ...headers("X-Env=canary"), "turnout.dev/match-cookies": "beta=yes" } }),
    simpleIngress("one-new", HOST, "/", "one-new", { created: at(4), annotations: { "turnout.dev/match-query": "preview" } }),
  ];

  void it("orders conditioned members: more conditions first, then oldest", () => {
    const result = translate(ingresses);
    const group = result.table.exactHosts.get(HOST)?.prefix.get("");
    assert.deepEqual(group?.conditioned.map((m) => m.source.name), ["two", "one-old", "one-new"]);
    assert.deepEqual(group?.conditioned.map((m) => m.weight), [0, 0, 0]);
    assert.deepEqual(weightsOf(result), [["stable", 100]]);
    assert.deepEqual(result.diagnostics, []);
  });

  const requests: [string, Parameters<typeof routeOf>[3], string][] = [
    ["both conditions of the most specific member", { headers: { "x-env": "canary" }, cookies: { beta: "yes" } }, "two:80"],
    ["only the header", { headers: { "x-env": "canary" } }, "one-old:80"],
    ["the header and the query", { headers: { "x-env": "canary" }, query: { preview: "" } }, "one-old:80"],
    ["only the query", { query: { preview: "1" } }, "one-new:80"],
    ["nothing special", {}, "stable:80"],
  ];
  for (const [name, init, expected] of requests) {
    void it(`a request with ${name} -> ${expected}`, () => {
      assert.equal(routeOf(translate(ingresses), HOST, "/page", init), expected);
    });
  }

  void it("identical condition sets: both kept, the newer one gets ConditionShadowed", () => {
    const result = translate([
      simpleIngress("first", HOST, "/", "first", { created: at(1), annotations: headers("X-A=1, X-B=2") }),
      simpleIngress("second", HOST, "/", "second", { created: at(2), annotations: headers("x-b=2\nx-a=1") }),
    ]);
    assert.deepEqual(reasons(result), ["default/second ConditionShadowed"]);
    assert.match(result.diagnostics[0]?.message ?? "", /default\/first/);
    assert.equal(result.table.exactHosts.get(HOST)?.prefix.get("")?.conditioned.length, 2);
    assert.equal(routeOf(result, HOST, "/", { headers: { "x-a": "1", "x-b": "2" } }), "first:80");
  });

  void it("with only conditioned members, unmatched requests fall through to a shorter prefix; a conditioned Ingress's defaultBackend is not a fallback", () => {
    const result = buildRouteTable(
      snapshot({
        ingresses: [
          simpleIngress("beta-app", HOST, "/app", "beta", { created: at(2), annotations: headers("X-Beta=1") }),
          ingress("site", [rule(HOST, path("/", "Prefix", backend("site", 80)))], { created: at(1) }),
          ingress("other", [rule("other.example.com", path("/app", "Prefix", backend("beta", 80)))], {
            created: at(3),
            annotations: headers("X-Beta=1"),
            defaultBackend: backend("fallback", 80),
          }),
        ],
        services: [service("beta"), service("site"), service("fallback")],
      }),
    );
    assert.equal(routeOf(result, HOST, "/app/x", { headers: { "x-beta": "1" } }), "beta:80");
    assert.equal(routeOf(result, HOST, "/app/x"), "site:80");
    // Its defaultBackend would take every request without the header: not used, with a warning.
    assert.equal(routeOf(result, "other.example.com", "/app/x"), "404");
    assert.equal(routeOf(result, "unknown.example.com", "/"), "404");
    assert.deepEqual(reasons(result), ["default/other DefaultBackendIgnored"]);
  });

  void it("a weight on an Ingress with conditions is ignored, with the parser's warning", () => {
    const result = translate([
      simpleIngress("stable", HOST, "/", "stable", { created: at(1) }),
      simpleIngress("both", HOST, "/", "both", { created: at(2), annotations: { ...weight(50), ...headers("X-A=1") } }),
    ]);
    assert.deepEqual(reasons(result), ["default/both IgnoredAnnotation"]);
    assert.deepEqual(weightsOf(result), [["stable", 100]]);
  });
});

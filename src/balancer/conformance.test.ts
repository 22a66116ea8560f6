// One suite every load-balancing policy must pass (the Balancer contract), run
// against each policy createBalancer knows.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Endpoint } from "../endpoints/endpoint.ts";
import { EndpointLoadTracker } from "../endpoints/endpoint-load.ts";
import type { Balancer, BalancerDeps, PickContext } from "./balancer.ts";
import { createBalancer } from "./create-balancer.ts";
import { LOAD_BALANCE_POLICIES } from "../routing/route-table.ts";
import { seededRandom } from "./seeded-random.ts";
import { makeEndpoints } from "./test-endpoints.ts";

interface Harness {
  deps: BalancerDeps;
  load: EndpointLoadTracker;
  advance(ms: number): void;
}

function harness(seed: number): Harness {
  let clock = 1_000;
  const load = new EndpointLoadTracker();
  return {
    deps: { random: seededRandom(seed), now: () => clock, load },
    load,
    advance(ms: number) {
      clock += ms;
    },
  };
}

/** A mix of contexts: with and without hash key, so hashing policies exercise both paths. */
function contextFor(i: number, attempted?: ReadonlySet<string>): PickContext {
  const ctx: PickContext = i % 3 === 0 ? {} : { hashKey: `client-${i}` };
  if (attempted !== undefined) ctx.attempted = attempted;
  return ctx;
}

/** Picks `count` times, feeding the load tracker as the proxy would (begin, then end later). */
function drive(balancer: Balancer, h: Harness, count: number, random: () => number): Endpoint[] {
  const picked: Endpoint[] = [];
  const inFlight: string[] = [];
  for (let i = 0; i < count; i++) {
    const endpoint = balancer.pick(contextFor(i));
    assert.ok(endpoint, "a non-empty balancer always picks");
    picked.push(endpoint);
    h.load.begin(endpoint.address);
    inFlight.push(endpoint.address);
    h.advance(1);
    if (inFlight.length > 4) {
      const done = inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!;
      h.load.end(done, 1 + Math.floor(random() * 20), 10_000, h.deps.now());
    }
  }
  return picked;
}

for (const policy of LOAD_BALANCE_POLICIES) {
  void describe(`balancer conformance: ${policy}`, () => {
    void test("an empty endpoint list picks nothing", () => {
      const balancer = createBalancer(policy, [], harness(1).deps);
      for (const ctx of [{}, { hashKey: "user-1" }, { attempted: new Set(["10.0.0.1:8080"]) }]) {
        assert.equal(balancer.pick(ctx), undefined);
      }
    });

    void test("a single endpoint is always picked, even when already attempted", () => {
      const [only] = makeEndpoints(1);
      const balancer = createBalancer(policy, [only!], harness(2).deps);
      for (let i = 0; i < 100; i++) {
        assert.equal(balancer.pick(contextFor(i)), only);
        assert.equal(balancer.pick(contextFor(i, new Set([only!.address]))), only);
      }
    });

    void test("only the given endpoints are ever picked (unhealthy ones are simply not given)", () => {
      const cluster = makeEndpoints(10);
      const healthy = cluster.filter((_, i) => i % 3 !== 1);
      const h = harness(3);
      const balancer = createBalancer(policy, healthy, h.deps);
      const random = seededRandom(33);
      for (const endpoint of drive(balancer, h, 3_000, random)) {
        assert.ok(healthy.includes(endpoint), `${endpoint.address} was not given`);
      }
      const excluded = new Set(cluster.filter((e) => !healthy.includes(e)).map((e) => e.address));
      for (let i = 0; i < 500; i++) {
        const endpoint = balancer.pick(contextFor(i, excluded));
        assert.ok(endpoint !== undefined && healthy.includes(endpoint));
      }
    });

    void test("attempted endpoints are avoided while another remains, and reused when all were tried", () => {
      const endpoints = makeEndpoints(5);
      const h = harness(4);
      const balancer = createBalancer(policy, endpoints, h.deps);
      const random = seededRandom(44);
      for (let i = 0; i < 1_000; i++) {
        const tried = endpoints.filter(() => random() < 0.5).map((e) => e.address);
        // A stale address from an endpoint that has since gone must not matter.
        const attempted = new Set([...tried, "10.9.9.9:8080"]);
        const endpoint = balancer.pick(contextFor(i, attempted));
        assert.ok(endpoint !== undefined && endpoints.includes(endpoint));
        if (tried.length < endpoints.length) {
          assert.ok(!attempted.has(endpoint.address), `${endpoint.address} was already attempted`);
        }
      }
    });

    void test("picks are reproducible under a seeded random source", () => {
      const endpoints = makeEndpoints(7);
      const run = (): string[] => {
        const h = harness(5);
        const balancer = createBalancer(policy, endpoints, h.deps);
        return drive(balancer, h, 2_000, seededRandom(55)).map((e) => e.address);
      };
      const first = run();
      assert.deepEqual(run(), first);
    });

    void test("every endpoint receives traffic", () => {
      const endpoints = makeEndpoints(5);
      const h = harness(6);
      const balancer = createBalancer(policy, endpoints, h.deps);
      const counts = new Map<string, number>();
      for (const endpoint of drive(balancer, h, 5_000, seededRandom(66))) {
        counts.set(endpoint.address, (counts.get(endpoint.address) ?? 0) + 1);
      }
      // A fair share is 1,000; every policy must give each endpoint at least half of it.
      for (const endpoint of endpoints) {
        const count = counts.get(endpoint.address) ?? 0;
        assert.ok(count >= 500, `${endpoint.address} got ${count} of 5000`);
      }
    });
  });
}

void test("createBalancer rejects a policy that slipped past validation with a clear message", () => {
  const policy = JSON.parse('"fastest"') as (typeof LOAD_BALANCE_POLICIES)[number];
  assert.throws(() => createBalancer(policy, [], harness(7).deps), /unknown load-balance policy "fastest"/);
});

// Smart routing end to end: route groups from turnout.dev/* annotations (weights,
// header/cookie/query matches), hashing, sticky sessions, latency-aware balancing
// and invalid-annotation handling, through the real process and real upstreams.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, answeredBy, tally } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let port: number;

const IPS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"];

async function upstreamOf(host: string, path: string, headers: Record<string, string> = {}): Promise<string> {
  return answeredBy(await turnout.request(host, path, { headers }));
}

before(async () => {
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["stable", "canary", "h1", "h2", "h3"], IPS);
  port = fleet[0]!.port;
  const k = api.client;
  await k.apply(ingressClass());
  await k.apply(service("stable"));
  await k.apply(service("canary"));
  await k.apply(service("pool"));
  await k.apply(endpointSlice("stable-1", "stable", port, [{ ip: IPS[0]! }]));
  await k.apply(endpointSlice("canary-1", "canary", port, [{ ip: IPS[1]! }]));
  await k.apply(endpointSlice("pool-1", "pool", port, [{ ip: IPS[2]! }, { ip: IPS[3]! }, { ip: IPS[4]! }]));
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

describe("route groups", () => {
  before(async () => {
    const paths = (svc: string): { path: string; service: string; port: number }[] => [{ path: "/", service: svc, port: 80 }];
    await api.client.apply(ingress({ name: "app", host: "app.test", creationTimestamp: "2026-01-01T00:00:00Z", paths: paths("stable") }));
    await api.client.apply(ingress({ name: "app-canary", host: "app.test", annotations: { "turnout.dev/weight": "10" }, paths: paths("canary") }));
    await api.client.apply(ingress({ name: "app-by-header", host: "app.test", annotations: { "turnout.dev/match-headers": "X-Canary=always" }, paths: paths("canary") }));
    await api.client.apply(ingress({ name: "app-by-regex", host: "app.test", annotations: { "turnout.dev/match-headers": "X-Version~v2\\.[0-9]+" }, paths: paths("canary") }));
    await api.client.apply(ingress({ name: "app-by-cookie", host: "app.test", annotations: { "turnout.dev/match-cookies": "beta=yes" }, paths: paths("canary") }));
    await api.client.apply(ingress({ name: "app-by-query", host: "app.test", annotations: { "turnout.dev/match-query": "preview" }, paths: paths("canary") }));
    await turnout.waitUntil(async () => (await upstreamOf("app.test", "/", { "x-canary": "always" })) === "canary", 5000, "route group");
  });

  test("a 10% weight takes 10% of unconditioned traffic (+/-2 points over 4,000 requests)", async () => {
    const counts = await tally(4000, 16, () => upstreamOf("app.test", "/"));
    const canaryShare = (counts.get("canary") ?? 0) / 4000;
    assert.equal((counts.get("stable") ?? 0) + (counts.get("canary") ?? 0), 4000, `unexpected answers: ${JSON.stringify([...counts])}`);
    assert.ok(Math.abs(canaryShare - 0.1) <= 0.02, `canary share ${canaryShare}`);
  });

  const matches: [string, string, Record<string, string>, string][] = [
    ["header equals", "/", { "x-canary": "always" }, "canary"],
    ["header name is case-insensitive", "/", { "X-CANARY": "always" }, "canary"],
    ["header value differs", "/", { "x-canary": "never" }, "weighted"],
    ["header regex matches the whole value", "/", { "x-version": "v2.13" }, "canary"],
    ["header regex does not match a prefix", "/", { "x-version": "v2.13-rc" }, "weighted"],
    ["cookie equals", "/", { cookie: "theme=dark; beta=yes" }, "canary"],
    ["cookie differs", "/", { cookie: "beta=no" }, "weighted"],
    ["query parameter present", "/?preview=1", {}, "canary"],
    ["query parameter absent", "/?other=1", {}, "weighted"],
  ];
  for (const [name, path, headers, expected] of matches) {
    test(`match: ${name}`, async () => {
      if (expected === "canary") {
        for (let i = 0; i < 20; i++) assert.equal(await upstreamOf("app.test", path, headers), "canary");
      } else {
        const counts = await tally(200, 8, () => upstreamOf("app.test", path, headers));
        assert.ok((counts.get("stable") ?? 0) > 150, `conditioned member must not take this request: ${JSON.stringify([...counts])}`);
      }
    });
  }
});

describe("balancing policies", () => {
  test("hash-by header: the same key always reaches the same endpoint; removing one moves only its keys", async () => {
    await api.client.apply(ingress({ name: "hashed", host: "hash.test", annotations: { "turnout.dev/hash-by": "header:X-User-Id" }, paths: [{ path: "/", service: "pool", port: 80 }] }));
    await turnout.waitUntil(async () => (await upstreamOf("hash.test", "/", { "x-user-id": "u0" })).startsWith("h"), 5000, "hash route");
    const users = Array.from({ length: 120 }, (_, i) => `user-${i}`);
    const mapping = async (): Promise<Map<string, string>> => {
      const m = new Map<string, string>();
      for (const u of users) m.set(u, await upstreamOf("hash.test", "/", { "x-user-id": u }));
      return m;
    };
    const first = await mapping();
    assert.deepEqual(await mapping(), first, "stable while the endpoint set is unchanged");
    assert.equal(new Set(first.values()).size, 3, "keys spread over all endpoints");
    await api.client.apply(endpointSlice("pool-1", "pool", port, [{ ip: IPS[2]! }, { ip: IPS[3]! }]));
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/pool:80"]?.length === 2, 3000, "endpoint removed");
    const second = await mapping();
    for (const u of users) {
      if (first.get(u) !== "h3") assert.equal(second.get(u), first.get(u), `${u} moved although its endpoint stayed`);
      else assert.notEqual(second.get(u), "h3");
    }
    await api.client.apply(endpointSlice("pool-1", "pool", port, [{ ip: IPS[2]! }, { ip: IPS[3]! }, { ip: IPS[4]! }]));
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/pool:80"]?.length === 3, 3000, "endpoint back");
    assert.deepEqual(await mapping(), first, "the ring depends only on the endpoint set");
  });

  test("affinity cookie: sticky while the endpoint is healthy, re-picked when it is gone", async () => {
    await api.client.apply(ingress({ name: "sticky", host: "sticky.test", annotations: { "turnout.dev/affinity": "cookie", "turnout.dev/affinity-cookie-max-age": "600" }, paths: [{ path: "/", service: "pool", port: 80 }] }));
    await turnout.waitUntil(async () => (await upstreamOf("sticky.test", "/")).startsWith("h"), 5000, "sticky route");
    const firstRes = await turnout.request("sticky.test", "/");
    const setCookie = firstRes.headers["set-cookie"]?.[0] ?? "";
    assert.match(setCookie, /^turnout-affinity=[0-9a-f]{16}; Path=\/; HttpOnly; Max-Age=600$/);
    assert.ok(!setCookie.includes("127.0.0"), "the cookie must not reveal the endpoint address");
    const cookie = setCookie.split(";")[0]!;
    const chosen = (JSON.parse(firstRes.body) as { upstream: string }).upstream;
    for (let i = 0; i < 15; i++) {
      const res = await turnout.request("sticky.test", "/", { headers: { cookie } });
      assert.equal((JSON.parse(res.body) as { upstream: string }).upstream, chosen);
      assert.equal(res.headers["set-cookie"], undefined, "a valid cookie is not re-set");
    }
    const remaining = IPS.slice(2).filter((_, i) => ["h1", "h2", "h3"][i] !== chosen);
    await api.client.apply(endpointSlice("pool-1", "pool", port, remaining.map((ip) => ({ ip }))));
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/pool:80"]?.length === 2, 3000, "endpoint removed");
    const moved = await turnout.request("sticky.test", "/", { headers: { cookie } });
    assert.notEqual((JSON.parse(moved.body) as { upstream: string }).upstream, chosen);
    assert.match(moved.headers["set-cookie"]?.[0] ?? "", /^turnout-affinity=/, "a re-pick sets a new cookie");
    await api.client.apply(endpointSlice("pool-1", "pool", port, IPS.slice(2).map((ip) => ({ ip }))));
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/pool:80"]?.length === 3, 3000, "endpoints back");
  });

  test("affinity with a weighted canary: each client stays with the Ingress the weights first sent it to", async () => {
    const sticky = { "turnout.dev/affinity": "cookie" };
    const paths = (svc: string): { path: string; service: string; port: number }[] => [{ path: "/", service: svc, port: 80 }];
    await api.client.apply(ingress({ name: "split", host: "split.test", creationTimestamp: "2026-01-01T00:00:00Z", annotations: sticky, paths: paths("stable") }));
    await api.client.apply(ingress({ name: "split-canary", host: "split.test", annotations: { ...sticky, "turnout.dev/weight": "50" }, paths: paths("canary") }));
    await turnout.waitUntil(async () => (await tally(20, 4, () => upstreamOf("split.test", "/"))).size === 2, 5000, "both members");
    const firstSeen = new Map<string, number>();
    for (let client = 0; client < 30; client++) {
      const first = await turnout.request("split.test", "/");
      const upstream = (JSON.parse(first.body) as { upstream: string }).upstream;
      firstSeen.set(upstream, (firstSeen.get(upstream) ?? 0) + 1);
      const cookie = String(first.headers["set-cookie"]?.[0]).split(";")[0]!;
      for (let i = 0; i < 8; i++) {
        const res = await turnout.request("split.test", "/", { headers: { cookie } });
        assert.equal((JSON.parse(res.body) as { upstream: string }).upstream, upstream, `client ${client} moved on request ${i + 2}`);
      }
    }
    // 30 clients at 50/50: all on one side has odds of 2 in a billion.
    assert.equal(firstSeen.size, 2, `first answers: ${JSON.stringify([...firstSeen])}`);
  });

  for (const policy of ["ewma", "least-request"]) {
    test(`${policy}: an endpoint slowed by 50 ms gets well under its 1/3 share`, async () => {
      const slow = fleet[4]!;
      slow.delayMs = 50;
      try {
        const host = `${policy}.test`;
        await api.client.apply(ingress({ name: `lb-${policy}`, host, annotations: { "turnout.dev/load-balance": policy }, paths: [{ path: "/", service: "pool", port: 80 }] }));
        await turnout.waitUntil(async () => (await upstreamOf(host, "/")).startsWith("h"), 5000, "route");
        const counts = await tally(600, 12, () => upstreamOf(host, "/"));
        const slowShare = (counts.get("h3") ?? 0) / 600;
        assert.ok(slowShare < 0.1, `slow endpoint share ${slowShare} (${JSON.stringify([...counts])})`);
      } finally {
        slow.delayMs = 0;
      }
    });
  }

  test("ewma: an endpoint answering 500 as fast as the others does not attract traffic", async () => {
    const failing = fleet[4]!;
    failing.status = 500;
    try {
      // max-fails high and fail-on-5xx off: passive health never ejects it, only the balancer can avoid it.
      await api.client.apply(ingress({ name: "lb-ewma-5xx", host: "ewma-5xx.test", annotations: { "turnout.dev/load-balance": "ewma", "turnout.dev/max-fails": "1000" }, paths: [{ path: "/", service: "pool", port: 80 }] }));
      await turnout.waitUntil(async () => (await upstreamOf("ewma-5xx.test", "/")).startsWith("h"), 5000, "route");
      const counts = await tally(600, 12, () => upstreamOf("ewma-5xx.test", "/"));
      const failingShare = (counts.get("status 500") ?? 0) / 600;
      // Sampled as their (short) latency, its errors won it about a third of the requests or more.
      assert.ok(failingShare < 0.1, `share of 500 answers ${failingShare} (${JSON.stringify([...counts])})`);
    } finally {
      failing.status = undefined;
    }
  });
});

describe("invalid annotations", () => {
  test("an invalid edit keeps the last valid version serving and says why", async () => {
    await api.client.apply(ingress({ name: "edited", host: "edited.test", annotations: { "turnout.dev/load-balance": "random" }, paths: [{ path: "/", service: "stable", port: 80 }] }));
    await turnout.waitUntil(async () => (await upstreamOf("edited.test", "/")) === "stable", 5000, "valid version");
    await api.client.apply(ingress({ name: "edited", host: "edited.test", annotations: { "turnout.dev/load-balance": "fastest" }, paths: [{ path: "/", service: "canary", port: 80 }] }));
    await turnout.waitForLog((l) => l.reason === "InvalidAnnotation" && l.ref === "default/edited" && String(l.msg).includes("fastest"), 5000);
    for (let i = 0; i < 5; i++) assert.equal(await upstreamOf("edited.test", "/"), "stable");
    const events = (await api.client.list("v1", "Event", { namespace: "default" })).items as { involvedObject?: { name?: string }; reason?: string; message?: string }[];
    assert.ok(events.some((e) => e.involvedObject?.name === "edited" && e.reason === "InvalidAnnotation" && (e.message ?? "").includes("turnout.dev/load-balance")));
  });

  test("a new Ingress with invalid annotations is left out; unknown annotations are warned about", async () => {
    await api.client.apply(ingress({ name: "bad-new", host: "bad-new.test", annotations: { "turnout.dev/weight": "150" }, paths: [{ path: "/", service: "stable", port: 80 }] }));
    await api.client.apply(ingress({ name: "typo", host: "typo.test", annotations: { "turnout.dev/load-balanse": "ewma" }, paths: [{ path: "/", service: "stable", port: 80 }] }));
    await turnout.waitUntil(async () => (await upstreamOf("typo.test", "/")) === "stable", 5000, "typo ingress served");
    assert.equal(await upstreamOf("bad-new.test", "/"), "status 404");
    const warning = await turnout.waitForLog((l) => l.reason === "UnknownAnnotation" && l.ref === "default/typo", 3000);
    assert.match(String(warning.msg), /load-balance/, "suggests the annotation meant");
  });
});

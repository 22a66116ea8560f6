// turnout.dev/* annotations and smart routing at their edges, as a user meets them:
// invalid values (documented outcome: left out or last valid version kept, Warning
// Event and log line naming the annotation), unknown and ignored keys, other classes'
// Ingresses, edits while traffic flows, match-condition semantics and regex cost,
// weights, consistent hashing and stickiness across a route group, a second replica,
// defaultBackends of annotated Ingresses, and per-Ingress timeouts and retries.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, answeredBy, httpRequest, sleep, tally } from "./support/turnout-process.ts";
import type { HttpResult } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

const IPS = ["127.0.0.110", "127.0.0.111", "127.0.0.112", "127.0.0.113", "127.0.0.114", "127.0.0.115", "127.0.0.116"];
/** Client source addresses for source-ip hashing (nothing listens on them). */
const CLIENT_IPS = ["127.0.0.117", "127.0.0.118", "127.0.0.119"];

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let port: number;

interface EventItem {
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  type?: string;
  message?: string;
}

type Paths = { path: string; service: string; port: number; pathType?: string }[];
const root = (svc: string): Paths => [{ path: "/", service: svc, port: 80 }];

async function eventsFor(name: string, namespace = "default"): Promise<EventItem[]> {
  const items = (await api.client.list("v1", "Event", { namespace })).items as EventItem[];
  return items.filter((e) => e.involvedObject?.name === name);
}

async function upstreamOf(host: string, path = "/", headers: Record<string, string | string[]> = {}): Promise<string> {
  return answeredBy(await send(host, path, headers));
}

/** Like turnout.request, but header values may be arrays (the header is sent once per value). */
function send(host: string, path: string, headers: Record<string, string | string[]> = {}, localAddress?: string, via: TurnoutProcess = turnout): Promise<HttpResult> {
  return httpRequest({ port: via.httpPort, path, method: "GET", headers: { host, ...headers }, agent: false, ...(localAddress ? { localAddress } : {}) });
}

async function eventually(host: string, path: string, expected: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<void> {
  let last = "";
  await turnout.waitUntil(async () => (last = await upstreamOf(host, path, headers)) === expected, timeoutMs, `${host}${path} -> ${expected} (last: ${last})`);
}

async function waitForEvent(name: string, reason: string, includes: string, timeoutMs = 5000): Promise<EventItem> {
  let found: EventItem | undefined;
  await turnout.waitUntil(
    async () => (found = (await eventsFor(name)).find((e) => e.reason === reason && (e.message ?? "").includes(includes))) !== undefined,
    timeoutMs,
    `${reason} Event on ${name} mentioning ${includes}`,
  );
  return found!;
}

/** Waits until /debug/routes lists the diagnostic (reported or not yet settled): the rebuild that produced it is done. */
async function waitForDiagnostic(name: string, reason: string, includes: string, timeoutMs = 5000): Promise<void> {
  await turnout.waitUntil(
    async () => (await turnout.debugRoutes()).diagnostics.some((d) => d.ref.name === name && d.reason === reason && d.message.includes(includes)),
    timeoutMs,
    `${reason} diagnostic on ${name} mentioning ${includes}`,
  );
}

/** Ingresses whose Events the first suites check, applied at start so their 1 s settling overlaps. */
const INVALID: [string, Record<string, string>, string][] = [
  ["weight-space", { "turnout.dev/weight": " 10" }, "turnout.dev/weight"],
  ["weight-fraction", { "turnout.dev/weight": "10.5" }, "turnout.dev/weight"],
  ["weight-sign", { "turnout.dev/weight": "+1" }, "turnout.dev/weight"],
  ["weight-exp", { "turnout.dev/weight": "1e2" }, "turnout.dev/weight"],
  ["weight-empty", { "turnout.dev/weight": "" }, "turnout.dev/weight"],
  ["weight-101", { "turnout.dev/weight": "101" }, "turnout.dev/weight"],
  ["lb-case", { "turnout.dev/load-balance": "Round-Robin" }, "turnout.dev/load-balance"],
  ["lb-hash-no-key", { "turnout.dev/load-balance": "maglev" }, "turnout.dev/load-balance"],
  ["hash-random", { "turnout.dev/hash-by": "source-ip", "turnout.dev/load-balance": "random" }, "turnout.dev/hash-by"],
  ["hash-empty-name", { "turnout.dev/hash-by": "header:" }, "turnout.dev/hash-by"],
  ["affinity-case", { "turnout.dev/affinity": "Cookie" }, "turnout.dev/affinity"],
  ["max-age-0", { "turnout.dev/affinity": "cookie", "turnout.dev/affinity-cookie-max-age": "0" }, "turnout.dev/affinity-cookie-max-age"],
  ["decay-bare", { "turnout.dev/load-balance": "ewma", "turnout.dev/ewma-decay": "10" }, "turnout.dev/ewma-decay"],
  ["decay-fraction", { "turnout.dev/load-balance": "ewma", "turnout.dev/ewma-decay": "1.5s" }, "turnout.dev/ewma-decay"],
  ["decay-zero", { "turnout.dev/load-balance": "ewma", "turnout.dev/ewma-decay": "0s" }, "turnout.dev/ewma-decay"],
  ["decay-over-hour", { "turnout.dev/load-balance": "ewma", "turnout.dev/ewma-decay": "1h1ms" }, "turnout.dev/ewma-decay"],
  ["hc-interval-short", { "turnout.dev/health-check-path": "/h", "turnout.dev/health-check-interval": "99ms" }, "turnout.dev/health-check-interval"],
  ["hc-timeout-long", { "turnout.dev/health-check-path": "/h", "turnout.dev/health-check-interval": "1s", "turnout.dev/health-check-timeout": "1s" }, "turnout.dev/health-check-timeout"],
  ["hc-path-relative", { "turnout.dev/health-check-path": "healthz" }, "turnout.dev/health-check-path"],
  ["max-fails-0", { "turnout.dev/max-fails": "0" }, "turnout.dev/max-fails"],
  ["fail-5xx-caps", { "turnout.dev/fail-on-5xx": "True" }, "turnout.dev/fail-on-5xx"],
  ["retries-11", { "turnout.dev/retries": "11" }, "turnout.dev/retries"],
  ["retry-on-bad", { "turnout.dev/retry-on": "connect-failure, 5XX" }, "turnout.dev/retry-on"],
  ["timeout-bare", { "turnout.dev/connect-timeout": "5" }, "turnout.dev/connect-timeout"],
  ["ssl-yes", { "turnout.dev/ssl-redirect": "yes" }, "turnout.dev/ssl-redirect"],
  ["match-empty", { "turnout.dev/match-headers": " , " }, "turnout.dev/match-headers"],
  ["match-space-value", { "turnout.dev/match-headers": "X-A= b" }, "turnout.dev/match-headers"],
  ["match-redos", { "turnout.dev/match-headers": "X-Id~(a+)+" }, "turnout.dev/match-headers"],
  ["match-bad-regex", { "turnout.dev/match-headers": "X-Id~[a" }, "turnout.dev/match-headers"],
  ["match-33", { "turnout.dev/match-headers": Array.from({ length: 33 }, (_, i) => `X-${i}=1`).join(",") }, "turnout.dev/match-headers"],
  ["cookie-semicolon", { "turnout.dev/match-cookies": "a=b;c" }, "turnout.dev/match-cookies"],
  ["query-amp", { "turnout.dev/match-query": "a&b=1" }, "turnout.dev/match-query"],
];
const IGNORED: [string, Record<string, string>, string][] = [
  ["ign-weight-match", { "turnout.dev/weight": "50", "turnout.dev/match-headers": "X-Ign=1" }, "turnout.dev/weight"],
  ["ign-cookie-name", { "turnout.dev/affinity-cookie-name": "SRV" }, "turnout.dev/affinity-cookie-name"],
  ["ign-decay", { "turnout.dev/ewma-decay": "5s" }, "turnout.dev/ewma-decay"],
  ["ign-hc-interval", { "turnout.dev/health-check-interval": "5s" }, "turnout.dev/health-check-interval"],
];
let eventObjectsAppliedAt = 0;

async function applyEventObjects(): Promise<void> {
  const k = api.client;
  for (const [name, annotations] of INVALID) await k.apply(ingress({ name: `inv-${name}`, host: `inv-${name}.test`, annotations, paths: root("b") }));
  await k.apply(ingress({ name: "many-bad", host: "many-bad.test", annotations: { "turnout.dev/weight": "101", "turnout.dev/retries": "-1", "turnout.dev/load-balance": "fast" }, paths: root("b") }));
  await k.apply(ingress({ name: "typo-base", host: "typo.test", creationTimestamp: "2026-01-01T00:00:00Z", paths: root("a") }));
  // A misspelt match annotation: this Ingress is plain, so it conflicts with the older one and loses.
  await k.apply(ingress({ name: "typo-match", host: "typo.test", annotations: { "turnout.dev/match-header": "X-Canary=always" }, paths: root("b") }));
  await k.apply(ingress({ name: "typo-case", host: "typo-case.test", annotations: { "turnout.dev/Weight": "10", "turnout.dev/xyzzy": "1" }, paths: root("c") }));
  for (const [name, annotations] of IGNORED) await k.apply(ingress({ name, host: `${name}.test`, annotations, paths: root("b") }));
  await k.apply(
    ingress({ name: "theirs", host: "theirs.test", className: "other", annotations: { "turnout.dev/weight": "abc", "turnout.dev/wieght": "1", "turnout.dev/match-headers": "" }, paths: root("b") }),
  );
  await k.apply(ingress({ name: "theirs-legacy", host: "theirs-legacy.test", className: null, annotations: { "kubernetes.io/ingress.class": "nginx", "turnout.dev/retries": "99" }, paths: root("b") }));
  // Applied last: once it serves, every Ingress above has been translated.
  await k.apply(ingress({ name: "inv-sentinel", host: "inv-sentinel.test", annotations: { "turnout.dev/weight": "100" }, paths: root("b") }));
  eventObjectsAppliedAt = Date.now();
}

before(async () => {
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["a", "b", "c", "p1", "p2", "p3", "d"], IPS);
  port = fleet[0]!.port;
  const k = api.client;
  await k.apply(ingressClass());
  await k.apply({ ...ingressClass("other"), spec: { controller: "example.com/other" } });
  for (const [i, name] of ["a", "b", "c"].entries()) {
    await k.apply(service(name));
    await k.apply(endpointSlice(`${name}-1`, name, port, [{ ip: IPS[i]! }]));
  }
  await k.apply(service("d"));
  await k.apply(endpointSlice("d-1", "d", port, [{ ip: IPS[6]! }]));
  await k.apply(service("pool"));
  await k.apply(endpointSlice("pool-1", "pool", port, [{ ip: IPS[3]! }, { ip: IPS[4]! }, { ip: IPS[5]! }]));
  await k.apply(service("empty"));
  await k.apply(ingress({ name: "anchor", host: "anchor.test", paths: root("a") }));
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath });
  await eventually("anchor.test", "/", "a");
  await applyEventObjects();
  await eventually("inv-sentinel.test", "/", "b");
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

describe("invalid values", () => {
  test("each invalid value leaves its new Ingress out, with a Warning Event and a log line naming the annotation and value", async () => {
    for (const [name, annotations, key] of INVALID) {
      assert.equal(await upstreamOf(`inv-${name}.test`), "status 404", `${name} must be left out`);
      const event = await waitForEvent(`inv-${name}`, "InvalidAnnotation", key);
      assert.equal(event.type, "Warning");
      assert.ok((event.message ?? "").includes(JSON.stringify(annotations[key])), `${name}: the Event names the value: ${event.message}`);
      assert.match(event.message ?? "", /left out/, `${name}: the Event says the Ingress is left out`);
      await turnout.waitForLog((l) => l.reason === "InvalidAnnotation" && l.ref === `default/inv-${name}` && l.msg.includes(key), 2000);
    }
    assert.equal(await upstreamOf("anchor.test"), "a", "the rest of the cluster keeps serving");
  });

  test("every problem of one Ingress is reported at once, one Event each", async () => {
    for (const key of ["turnout.dev/weight", "turnout.dev/retries", "turnout.dev/load-balance"]) await waitForEvent("many-bad", "InvalidAnnotation", key);
    assert.equal((await eventsFor("many-bad")).filter((e) => e.reason === "InvalidAnnotation").length, 3);
    assert.equal(await upstreamOf("many-bad.test"), "status 404");
  });

  test("boundary values that the docs allow are accepted and parsed as documented", async () => {
    const annotations = {
      "turnout.dev/weight": "007",
      "turnout.dev/load-balance": "ewma",
      "turnout.dev/ewma-decay": "1m30s",
      "turnout.dev/affinity": "cookie",
      "turnout.dev/affinity-cookie-max-age": "34560000",
      "turnout.dev/health-check-path": "/healthz?deep=1",
      "turnout.dev/health-check-interval": "1s",
      "turnout.dev/retries": "0",
      "turnout.dev/connect-timeout": "2s500ms",
      "turnout.dev/read-timeout": "1h",
      "turnout.dev/retry-on": "5xx,\n5xx, reset\n",
    };
    await api.client.apply(ingress({ name: "edges-ok", host: "edges-ok.test", annotations, paths: root("b") }));
    await eventually("edges-ok.test", "/", "b");
    const routes = (await turnout.debugRoutes()).table as { hosts: { host: string; routes: { weighted: { weight: number; policy: Record<string, unknown> }[] }[] }[] };
    const member = routes.hosts.find((h) => h.host === "edges-ok.test")?.routes[0]?.weighted[0];
    assert.ok(member);
    assert.equal(member.policy.ewmaDecayMs, 90_000);
    assert.equal(member.policy.connectTimeoutMs, 2500);
    assert.equal(member.policy.readTimeoutMs, 3_600_000);
    assert.deepEqual(member.policy.retryOn, ["5xx", "reset"]);
    assert.deepEqual(member.policy.affinity, { cookieName: "turnout-affinity", maxAgeSeconds: 34_560_000 });
    assert.deepEqual(member.policy.healthCheck, { path: "/healthz?deep=1", intervalMs: 1000, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 3 });
    // retry-on with retries "0" draws a warning, the Ingress is still used.
    const diagnostics = (await turnout.debugRoutes()).diagnostics.filter((d) => d.ref.name === "edges-ok");
    assert.deepEqual(diagnostics.map((d) => [d.reason, d.message.split(":")[0]]), [["IgnoredAnnotation", 'turnout.dev/retry-on "5xx,\\n5xx, reset\\n"']]);
  });
});

describe("unknown and ignored annotations", () => {
  test("near-miss keys are warned about with a suggestion; the Ingress serves as if they were absent", async () => {
    const suggestion = await waitForEvent("typo-match", "UnknownAnnotation", "turnout.dev/match-header");
    assert.match(suggestion.message ?? "", /did you mean turnout\.dev\/match-headers\?/);
    await waitForEvent("typo-match", "PathConflict", "typo.test");
    assert.equal(await upstreamOf("typo.test", "/", { "x-canary": "always" }), "a");
    const caseEvent = await waitForEvent("typo-case", "UnknownAnnotation", "turnout.dev/Weight");
    assert.match(caseEvent.message ?? "", /did you mean turnout\.dev\/weight\?/);
    const far = await waitForEvent("typo-case", "UnknownAnnotation", "turnout.dev/xyzzy");
    assert.doesNotMatch(far.message ?? "", /did you mean/);
    assert.equal(await upstreamOf("typo-case.test"), "c");
  });

  test("annotations without effect are IgnoredAnnotation warnings and do not stop the Ingress", async () => {
    for (const [name, , key] of IGNORED) {
      const event = await waitForEvent(name, "IgnoredAnnotation", key);
      assert.equal(event.type, "Warning");
    }
    assert.equal(await upstreamOf("ign-weight-match.test", "/", { "x-ign": "1" }), "b");
    assert.equal(await upstreamOf("ign-weight-match.test", "/"), "status 404", "a conditioned-only group lets unmatched requests fall through");
    for (const [name] of IGNORED.slice(1)) assert.equal(await upstreamOf(`${name}.test`), "b");
  });

  test("another controller's Ingress with invalid turnout.dev annotations: no route, no Event, no log line", async () => {
    // Past the 1 s a problem must last before it is reported.
    await sleep(Math.max(0, eventObjectsAppliedAt + 1300 - Date.now()));
    assert.equal(await upstreamOf("theirs.test"), "status 404");
    assert.equal(await upstreamOf("theirs-legacy.test"), "status 404");
    assert.deepEqual(await eventsFor("theirs"), []);
    assert.deepEqual(await eventsFor("theirs-legacy"), []);
    assert.deepEqual(turnout.logs.filter((l) => l.ref === "default/theirs" || l.ref === "default/theirs-legacy"), []);
  });
});

describe("invalid edits of a served Ingress", () => {
  test("the last valid version keeps serving through an invalid edit; fixing it applies the fix; deleting it removes it", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "kept", host: "kept.test", annotations: { "turnout.dev/load-balance": "random" }, paths: root("a") }));
    await eventually("kept.test", "/", "a");
    await k.apply(ingress({ name: "kept", host: "kept.test", annotations: { "turnout.dev/load-balance": "random", "turnout.dev/retries": "eleven" }, paths: root("b") }));
    const event = await waitForEvent("kept", "InvalidAnnotation", "turnout.dev/retries");
    assert.match(event.message ?? "", /still serving the last accepted version/);
    for (let i = 0; i < 10; i++) assert.equal(await upstreamOf("kept.test"), "a");
    await turnout.waitForLog((l) => l.reason === "InvalidAnnotation" && l.ref === "default/kept", 2000);
    await k.apply(ingress({ name: "kept", host: "kept.test", annotations: { "turnout.dev/load-balance": "random", "turnout.dev/retries": "2" }, paths: root("c") }));
    await eventually("kept.test", "/", "c");
    await k.apply(ingress({ name: "kept", host: "kept.test", annotations: { "turnout.dev/weight": "x" }, paths: root("b") }));
    await waitForDiagnostic("kept", "InvalidAnnotation", "turnout.dev/weight");
    for (let i = 0; i < 5; i++) assert.equal(await upstreamOf("kept.test"), "c", "the latest valid version, not the first one");
    await k.delete({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name: "kept" });
    await eventually("kept.test", "/", "status 404");
  });

  test("a kept version survives an unrelated IngressClass change", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "kept2", host: "kept2.test", paths: root("a") }));
    await eventually("kept2.test", "/", "a");
    await k.apply(ingress({ name: "kept2", host: "kept2.test", annotations: { "turnout.dev/weight": "-5" }, paths: root("b") }));
    await waitForDiagnostic("kept2", "InvalidAnnotation", "turnout.dev/weight");
    await k.apply({ ...ingressClass("unrelated"), spec: { controller: "example.com/unrelated" } });
    await sleep(300);
    for (let i = 0; i < 5; i++) assert.equal(await upstreamOf("kept2.test"), "a");
  });
});

describe("edits while traffic flows", () => {
  /** Runs `edit` while `concurrency` clients send requests; returns answers by upstream (errors as "status N"). */
  async function duringTraffic(host: string, edit: () => Promise<void>, headers: () => Record<string, string> = () => ({})): Promise<{ before: Map<string, number>; all: Map<string, number>; failures: string[] }> {
    const all = new Map<string, number>();
    const failures: string[] = [];
    let stop = false;
    const clients = Array.from({ length: 6 }, async () => {
      while (!stop) {
        let who: string;
        try {
          who = await upstreamOf(host, "/", headers());
        } catch (error) {
          who = `error ${String(error)}`;
        }
        if (!/^[a-z]\w*$/.test(who)) failures.push(who);
        all.set(who, (all.get(who) ?? 0) + 1);
      }
    });
    await sleep(150);
    const before = new Map(all);
    await edit();
    await sleep(150);
    stop = true;
    await Promise.all(clients);
    return { before, all, failures };
  }

  test("weights flipped 100/0 -> 0/100 under load: no failed request, then all traffic moves", async () => {
    const k = api.client;
    const stable = (w: string) => ingress({ name: "flip-stable", host: "flip.test", creationTimestamp: "2026-01-01T00:00:00Z", annotations: { "turnout.dev/weight": w }, paths: root("a") });
    const canary = (w: string) => ingress({ name: "flip-canary", host: "flip.test", annotations: { "turnout.dev/weight": w }, paths: root("b") });
    await k.apply(stable("100"));
    await k.apply(canary("0"));
    await eventually("flip.test", "/", "a");
    const { failures } = await duringTraffic("flip.test", async () => {
      await k.apply(canary("100"));
      await k.apply(stable("0"));
      await eventually("flip.test", "/", "b");
    });
    assert.deepEqual(failures, []);
    const after = await tally(100, 4, () => upstreamOf("flip.test"));
    assert.deepEqual([...after], [["b", 100]]);
  });

  test("policy switched round-robin -> ewma -> ring-hash -> maglev under load: no failed request, and hashing takes effect", async () => {
    const k = api.client;
    const apply = (annotations: Record<string, string>) => k.apply(ingress({ name: "switch", host: "switch.test", annotations, paths: root("pool") }));
    await apply({ "turnout.dev/load-balance": "round-robin" });
    await turnout.waitUntil(async () => (await upstreamOf("switch.test")).startsWith("p"), 5000, "switch route");
    let user = 0;
    const { failures } = await duringTraffic(
      "switch.test",
      async () => {
        await apply({ "turnout.dev/load-balance": "ewma" });
        await sleep(100);
        await apply({ "turnout.dev/hash-by": "header:X-User" });
        await sleep(100);
        await apply({ "turnout.dev/hash-by": "header:X-User", "turnout.dev/load-balance": "maglev" });
      },
      () => ({ "x-user": `u${user++ % 7}` }),
    );
    assert.deepEqual(failures, []);
    await turnout.waitUntil(async () => {
      const table = (await turnout.debugRoutes()).table as { hosts: { host: string; routes: { weighted: { policy: { loadBalance: string } }[] }[] }[] };
      return table.hosts.find((h) => h.host === "switch.test")?.routes[0]?.weighted[0]?.policy.loadBalance === "maglev";
    }, 3000, "maglev published");
    for (let u = 0; u < 7; u++) {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add(await upstreamOf("switch.test", "/", { "x-user": `u${u}` }));
      assert.equal(seen.size, 1, `user u${u} reached ${[...seen].join(", ")}`);
    }
  });

  test("a header match added and removed under load: no failed request; it takes effect and goes away", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "hm-stable", host: "hm.test", creationTimestamp: "2026-01-01T00:00:00Z", paths: root("a") }));
    await k.apply(ingress({ name: "hm-canary", host: "hm.test", annotations: { "turnout.dev/weight": "0" }, paths: root("b") }));
    await eventually("hm.test", "/", "a");
    const { failures } = await duringTraffic(
      "hm.test",
      async () => {
        await k.apply(ingress({ name: "hm-canary", host: "hm.test", annotations: { "turnout.dev/match-headers": "X-Canary=always" }, paths: root("b") }));
        await eventually("hm.test", "/", "b", { "x-canary": "always" });
      },
      () => ({ "x-canary": "always" }),
    );
    assert.deepEqual(failures, []);
    assert.equal(await upstreamOf("hm.test"), "a");
    await k.apply(ingress({ name: "hm-canary", host: "hm.test", annotations: { "turnout.dev/weight": "0" }, paths: root("b") }));
    await eventually("hm.test", "/", "a", { "x-canary": "always" });
  });
});

describe("match conditions", () => {
  before(async () => {
    const k = api.client;
    const at = (name: string, annotations: Record<string, string>, svc = "b", ts?: string) =>
      k.apply(ingress({ name, host: "m.test", annotations, paths: root(svc), ...(ts ? { creationTimestamp: ts } : {}) }));
    await at("m-stable", {}, "a", "2026-01-01T00:00:00Z");
    await at("m-empty", { "turnout.dev/match-headers": "X-Empty=" });
    await at("m-regex-list", { "turnout.dev/match-headers": "X-Id~[0-9]{1,3}" });
    await at("m-comma", { "turnout.dev/match-headers": "X-List~a\\,b" });
    await at("m-long", { "turnout.dev/match-headers": "X-Long~x.*" });
    await at("m-slow", { "turnout.dev/match-headers": "X-Slow~.*-.*\\.com" });
    await at("m-multi", { "turnout.dev/match-headers": "X-Multi=yes" });
    await at("m-cookie", { "turnout.dev/match-cookies": "Beta=yes" });
    await at("m-query", { "turnout.dev/match-query": "q=hello world" });
    await at("m-query-rep", { "turnout.dev/match-query": "v=2" });
    await at("m-value-case", { "turnout.dev/match-headers": "X-Case=Yes" });
    await eventually("m.test", "/", "b", { "x-case": "Yes" });
  });

  const cases: [string, string, Record<string, string | string[]>, boolean][] = [
    ["Name= matches a present, empty value", "/", { "x-empty": "" }, true],
    ["Name= does not match an absent header", "/", {}, false],
    ["regex with {1,3} is one entry and matches 3 digits", "/", { "x-id": "123" }, true],
    ["regex with {1,3} does not match 4 digits", "/", { "x-id": "1234" }, false],
    ["escaped comma in a regex is a literal comma", "/", { "x-list": "a,b" }, true],
    ["a value of 1,024 characters can match a regex", "/", { "x-long": "x".repeat(1024) }, true],
    ["a value of 1,025 characters never matches a regex", "/", { "x-long": "x".repeat(1025) }, false],
    ["a repeated header matches when any of its values does", "/", { "x-multi": ["no", "yes"] }, true],
    ["header values are case-sensitive", "/", { "x-case": "yes" }, false],
    ["cookie names are case-sensitive", "/", { cookie: "beta=yes" }, false],
    ["cookie values in double quotes are compared without the quotes", "/", { cookie: 'Beta="yes"' }, true],
    ["a cookie in a second Cookie header line counts", "/", { cookie: ["theme=dark", "Beta=yes"] }, true],
    ["query values are percent-decoded, + reads as a space", "/?q=hello+world", {}, true],
    ["query values are percent-decoded, %20", "/?q=hello%20world", {}, true],
    ["query names are case-sensitive", "/?Q=hello+world", {}, false],
    ["a repeated query parameter matches when any value does", "/?v=1&v=2", {}, true],
  ];
  for (const [name, path, headers, matches] of cases) {
    test(`match: ${name}`, async () => {
      const expected = matches ? "b" : "a";
      for (let i = 0; i < 5; i++) assert.equal(await upstreamOf("m.test", path, headers), expected);
    });
  }

  test("match: a quadratic-at-worst regex on a hostile 1,024-character value answers quickly", async () => {
    const started = performance.now();
    for (let i = 0; i < 20; i++) assert.equal(await upstreamOf("m.test", "/", { "x-slow": "-".repeat(1024) }), "a");
    const perRequest = (performance.now() - started) / 20;
    assert.ok(perRequest < 50, `${perRequest.toFixed(1)} ms per request`);
  });

  test("precedence: more conditions first, then the oldest; identical sets are ConditionShadowed", async () => {
    const k = api.client;
    const at = (name: string, annotations: Record<string, string>, svc: string, ts: string) =>
      k.apply(ingress({ name, host: "prec.test", annotations, paths: root(svc), creationTimestamp: ts }));
    await at("prec-base", {}, "a", "2026-01-01T00:00:00Z");
    await at("prec-one-old", { "turnout.dev/match-headers": "X-A=1" }, "b", "2026-01-02T00:00:00Z");
    await at("prec-two-new", { "turnout.dev/match-headers": "X-A=1", "turnout.dev/match-query": "x" }, "c", "2026-01-05T00:00:00Z");
    await at("prec-other-one", { "turnout.dev/match-cookies": "k=v" }, "d", "2026-01-03T00:00:00Z");
    await at("prec-dup", { "turnout.dev/match-headers": "x-a=1" }, "d", "2026-01-04T00:00:00Z");
    await eventually("prec.test", "/?x", "c", { "x-a": "1" });
    assert.equal(await upstreamOf("prec.test", "/", { "x-a": "1" }), "b");
    // Equal counts: the older member (prec-one-old) wins over prec-other-one.
    assert.equal(await upstreamOf("prec.test", "/", { "x-a": "1", cookie: "k=v" }), "b");
    assert.equal(await upstreamOf("prec.test", "/", { cookie: "k=v" }), "d");
    assert.equal(await upstreamOf("prec.test", "/"), "a");
    await waitForDiagnostic("prec-dup", "ConditionShadowed", "prec-one-old");
  });

  test("precedence: a condition written twice does not make a member more specific", async () => {
    const k = api.client;
    const at = (name: string, annotations: Record<string, string>, svc: string, ts: string) =>
      k.apply(ingress({ name, host: "dup.test", annotations, paths: root(svc), creationTimestamp: ts }));
    await at("dup-base", {}, "a", "2026-01-01T00:00:00Z");
    // Two distinct conditions: more specific than one.
    await at("dup-two", { "turnout.dev/match-headers": "X-A=1, X-B=1" }, "b", "2026-01-03T00:00:00Z");
    // One condition written twice (a newline list with the same entry repeated), and older.
    await at("dup-repeated", { "turnout.dev/match-headers": "X-A=1\nX-A=1\nX-A=1" }, "c", "2026-01-02T00:00:00Z");
    await eventually("dup.test", "/", "c", { "x-a": "1" });
    assert.equal(await upstreamOf("dup.test", "/", { "x-a": "1", "x-b": "1" }), "b", "the member with two different conditions is the more specific");
  });
});

describe("weights", () => {
  const share = (counts: Map<string, number>, who: string, total: number): number => (counts.get(who) ?? 0) / total;

  test("weights that add up to less than 100 are relative shares (10 and 20 split 1:2)", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "rel-a", host: "rel.test", annotations: { "turnout.dev/weight": "10" }, paths: root("a") }));
    await k.apply(ingress({ name: "rel-b", host: "rel.test", annotations: { "turnout.dev/weight": "20" }, paths: root("b") }));
    await turnout.waitUntil(async () => (await tally(20, 4, () => upstreamOf("rel.test"))).size === 2, 5000, "both members");
    const counts = await tally(2000, 16, () => upstreamOf("rel.test"));
    assert.equal((counts.get("a") ?? 0) + (counts.get("b") ?? 0), 2000, JSON.stringify([...counts]));
    // sd of the share at 2,000 samples is 0.0105: +/-0.045 is over 4 sd (a false failure about once in 30,000 runs).
    assert.ok(Math.abs(share(counts, "b", 2000) - 2 / 3) <= 0.045, JSON.stringify([...counts]));
  });

  test("weights over 100 are scaled down, a member without weight gets nothing, each member gets WeightsScaled", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "over-a", host: "over.test", annotations: { "turnout.dev/weight": "80" }, paths: root("a") }));
    await k.apply(ingress({ name: "over-b", host: "over.test", annotations: { "turnout.dev/weight": "80" }, paths: root("b") }));
    await k.apply(ingress({ name: "over-c", host: "over.test", paths: root("c") }));
    await turnout.waitUntil(async () => (await tally(20, 4, () => upstreamOf("over.test"))).size === 2, 5000, "both weighted members");
    const counts = await tally(1000, 16, () => upstreamOf("over.test"));
    assert.equal(counts.get("c"), undefined, JSON.stringify([...counts]));
    // sd 0.0158 at 1,000 samples: +/-0.07 is 4.4 sd.
    assert.ok(Math.abs(share(counts, "a", 1000) - 0.5) <= 0.07, JSON.stringify([...counts]));
    for (const name of ["over-a", "over-b", "over-c"]) await waitForDiagnostic(name, "WeightsScaled", "over.test");
  });

  test("unweighted members share the remainder equally (40 / 30 / 30)", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "rem-a", host: "rem.test", annotations: { "turnout.dev/weight": "40" }, paths: root("a") }));
    await k.apply(ingress({ name: "rem-b", host: "rem.test", paths: root("b") }));
    await k.apply(ingress({ name: "rem-c", host: "rem.test", paths: root("c") }));
    await turnout.waitUntil(async () => (await tally(30, 4, () => upstreamOf("rem.test"))).size === 3, 5000, "three members");
    const counts = await tally(2000, 16, () => upstreamOf("rem.test"));
    // sd at 2,000 samples: 0.011 (40%), 0.0102 (30%): +/-0.045 is over 4 sd.
    assert.ok(Math.abs(share(counts, "a", 2000) - 0.4) <= 0.045, JSON.stringify([...counts]));
    assert.ok(Math.abs(share(counts, "b", 2000) - 0.3) <= 0.045, JSON.stringify([...counts]));
    assert.ok(Math.abs(share(counts, "c", 2000) - 0.3) <= 0.045, JSON.stringify([...counts]));
  });

  test("all-zero weights: the path falls through to a shorter path rule", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "zero-root", host: "zero.test", paths: root("a") }));
    await k.apply(ingress({ name: "zero-api-1", host: "zero.test", annotations: { "turnout.dev/weight": "0" }, paths: [{ path: "/api", service: "b", port: 80 }] }));
    await k.apply(ingress({ name: "zero-api-2", host: "zero.test", annotations: { "turnout.dev/weight": "0" }, paths: [{ path: "/api", service: "c", port: 80 }] }));
    await eventually("zero.test", "/", "a");
    await sleep(100);
    const counts = await tally(50, 4, () => upstreamOf("zero.test", "/api/x"));
    assert.deepEqual([...counts], [["a", 50]]);
  });

  test("a weighted member whose Service has no endpoints answers its share with 503 TURNOUT_ERR_NO_ENDPOINTS", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "noep-a", host: "noep.test", creationTimestamp: "2026-01-01T00:00:00Z", paths: root("a") }));
    await k.apply(ingress({ name: "noep-empty", host: "noep.test", annotations: { "turnout.dev/weight": "50" }, paths: root("empty") }));
    await turnout.waitUntil(async () => (await tally(20, 4, () => upstreamOf("noep.test"))).size === 2, 5000, "both members");
    const counts = await tally(800, 8, () => upstreamOf("noep.test"));
    assert.equal((counts.get("a") ?? 0) + (counts.get("status 503") ?? 0), 800, JSON.stringify([...counts]));
    // sd 0.0177 at 800 samples: +/-0.08 is 4.5 sd.
    assert.ok(Math.abs(share(counts, "a", 800) - 0.5) <= 0.08, JSON.stringify([...counts]));
    let res = await send("noep.test", "/");
    for (let i = 0; i < 40 && res.status !== 503; i++) res = await send("noep.test", "/");
    assert.equal(res.status, 503);
    assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_NO_ENDPOINTS");
  });
});

describe("consistent hashing", () => {
  async function mapping(keys: string[], request: (key: string) => Promise<string>): Promise<Map<string, string>> {
    const m = new Map<string, string>();
    for (const key of keys) m.set(key, await request(key));
    return m;
  }

  test("hash-by cookie and query: the same key always reaches the same endpoint, keys spread over all", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "hc", host: "hash-cookie.test", annotations: { "turnout.dev/hash-by": "cookie:sid" }, paths: root("pool") }));
    await k.apply(ingress({ name: "hq", host: "hash-query.test", annotations: { "turnout.dev/hash-by": "query:user", "turnout.dev/load-balance": "maglev" }, paths: root("pool") }));
    await turnout.waitUntil(async () => (await upstreamOf("hash-query.test", "/?user=x")).startsWith("p") && (await upstreamOf("hash-cookie.test", "/", { cookie: "sid=x" })).startsWith("p"), 5000, "hash routes");
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    for (const [host, req] of [
      ["hash-cookie.test", (key: string) => upstreamOf("hash-cookie.test", "/", { cookie: `other=1; sid=${key}` })],
      ["hash-query.test", (key: string) => upstreamOf("hash-query.test", `/?a=1&user=${key}`)],
    ] as const) {
      const first = await mapping(keys, req);
      assert.deepEqual(await mapping(keys, req), first, `${host}: stable`);
      assert.equal(new Set(first.values()).size, 3, `${host}: keys spread over all endpoints`);
    }
  });

  test("maglev: removing an endpoint moves its keys and few others", async () => {
    const k = api.client;
    await k.apply(service("mpool"));
    await k.apply(endpointSlice("mpool-1", "mpool", port, [{ ip: IPS[3]! }, { ip: IPS[4]! }, { ip: IPS[5]! }]));
    await k.apply(ingress({ name: "mg", host: "maglev.test", annotations: { "turnout.dev/hash-by": "header:X-Key", "turnout.dev/load-balance": "maglev" }, paths: root("mpool") }));
    await turnout.waitUntil(async () => (await upstreamOf("maglev.test", "/", { "x-key": "x" })).startsWith("p"), 5000, "maglev route");
    const keys = Array.from({ length: 150 }, (_, i) => `key-${i}`);
    const req = (key: string): Promise<string> => upstreamOf("maglev.test", "/", { "x-key": key });
    const first = await mapping(keys, req);
    await k.apply(endpointSlice("mpool-1", "mpool", port, [{ ip: IPS[3]! }, { ip: IPS[4]! }]));
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/mpool:80"]?.length === 2, 3000, "endpoint removed");
    const second = await mapping(keys, req);
    let movedOthers = 0;
    let stayed = 0;
    for (const key of keys) {
      if (first.get(key) === "p3") assert.notEqual(second.get(key), "p3");
      else {
        stayed++;
        if (second.get(key) !== first.get(key)) movedOthers++;
      }
    }
    assert.ok(movedOthers / stayed <= 0.1, `${movedOthers} of ${stayed} keys moved although their endpoint stayed`);
  });

  test("hash-by source-ip: each client address keeps its endpoint", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "hs", host: "hash-src.test", annotations: { "turnout.dev/hash-by": "source-ip" }, paths: root("pool") }));
    await turnout.waitUntil(async () => (await upstreamOf("hash-src.test")).startsWith("p"), 5000, "source-ip route");
    for (const ip of CLIENT_IPS) {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) seen.add(answeredBy(await send("hash-src.test", "/", {}, ip)));
      assert.equal(seen.size, 1, `${ip} reached ${[...seen].join(", ")}`);
    }
  });
});

describe("sticky sessions and hashing across a route group", () => {
  const cookieOf = (res: HttpResult, name: string): string | undefined =>
    (res.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]!).find((c) => c.startsWith(`${name}=`));

  test("affinity-cookie-name is used; weight 0 releases the canary's clients; match conditions beat the cookie", async () => {
    const k = api.client;
    const sticky = { "turnout.dev/affinity": "cookie", "turnout.dev/affinity-cookie-name": "SRV" };
    await k.apply(ingress({ name: "st-stable", host: "st.test", creationTimestamp: "2026-01-01T00:00:00Z", annotations: sticky, paths: root("a") }));
    await k.apply(ingress({ name: "st-canary", host: "st.test", annotations: { ...sticky, "turnout.dev/weight": "50" }, paths: root("b") }));
    await k.apply(ingress({ name: "st-header", host: "st.test", annotations: { "turnout.dev/match-headers": "X-Force=c" }, paths: root("c") }));
    await turnout.waitUntil(async () => (await tally(20, 4, () => upstreamOf("st.test"))).size === 2, 5000, "both weighted members");
    // A client the weights sent to the canary.
    let cookie: string | undefined;
    for (let i = 0; i < 60 && cookie === undefined; i++) {
      const res = await send("st.test", "/");
      if (answeredBy(res) === "b") cookie = cookieOf(res, "SRV");
    }
    assert.ok(cookie, "a canary client with an SRV cookie");
    assert.equal(cookieOf(await send("st.test", "/"), "turnout-affinity"), undefined, "the default cookie name is not used");
    for (let i = 0; i < 10; i++) assert.equal(await upstreamOf("st.test", "/", { cookie }), "b");
    for (let i = 0; i < 5; i++) assert.equal(await upstreamOf("st.test", "/", { cookie, "x-force": "c" }), "c", "conditions take precedence");
    await k.apply(ingress({ name: "st-canary", host: "st.test", annotations: { ...sticky, "turnout.dev/weight": "0" }, paths: root("b") }));
    await eventually("st.test", "/", "a", { cookie });
    const counts = await tally(20, 4, () => upstreamOf("st.test", "/", { cookie }));
    assert.deepEqual([...counts], [["a", 20]]);
  });

  test("hash-by header: requests without the key are still served, spread over the endpoints", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "hk", host: "hash-nokey.test", annotations: { "turnout.dev/hash-by": "header:X-Key" }, paths: root("pool") }));
    await turnout.waitUntil(async () => (await upstreamOf("hash-nokey.test")).startsWith("p"), 5000, "route");
    const counts = await tally(60, 4, () => upstreamOf("hash-nokey.test"));
    assert.equal(counts.size, 3, JSON.stringify([...counts]));
  });
});

describe("route group membership", () => {
  test("ImplementationSpecific and a trailing slash join the Prefix group of the same path", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "rg-stable", host: "rg.test", creationTimestamp: "2026-01-01T00:00:00Z", paths: [{ path: "/shop", service: "a", port: 80 }] }));
    await k.apply(ingress({ name: "rg-canary", host: "rg.test", annotations: { "turnout.dev/weight": "50" }, paths: [{ path: "/shop/", pathType: "ImplementationSpecific", service: "b", port: 80 }] }));
    await turnout.waitUntil(async () => (await tally(20, 4, () => upstreamOf("rg.test", "/shop/x"))).size === 2, 5000, "both members");
    const counts = await tally(800, 8, () => upstreamOf("rg.test", "/shop/x"));
    // sd 0.0177 at 800 samples: +/-0.08 is 4.5 sd.
    assert.ok(Math.abs((counts.get("b") ?? 0) / 800 - 0.5) <= 0.08, JSON.stringify([...counts]));
  });
});

describe("a second replica (two proxy workers) started later", () => {
  let second: TurnoutProcess | undefined;
  const other = async (host: string, path = "/", headers: Record<string, string> = {}): Promise<string> => answeredBy(await send(host, path, headers, undefined, second));

  before(async () => {
    const k = api.client;
    await k.apply(ingress({ name: "rep-base", host: "rep.test", creationTimestamp: "2026-01-01T00:00:00Z", annotations: { "turnout.dev/affinity": "cookie" }, paths: root("pool") }));
    await k.apply(ingress({ name: "rep-regex", host: "rep.test", annotations: { "turnout.dev/match-headers": "X-Ver~v2\\.[0-9]+" }, paths: root("d") }));
    await k.apply(ingress({ name: "rep-hash", host: "rep-hash.test", annotations: { "turnout.dev/hash-by": "header:X-User" }, paths: root("pool") }));
    await k.apply(ingress({ name: "rep-kept", host: "rep-kept.test", annotations: { "turnout.dev/weight": "100" }, paths: root("a") }));
    await eventually("rep-kept.test", "/", "a");
    await k.apply(ingress({ name: "rep-kept", host: "rep-kept.test", annotations: { "turnout.dev/weight": "1000" }, paths: root("b") }));
    await waitForDiagnostic("rep-kept", "InvalidAnnotation", "still serving the last accepted version");
    await eventually("rep.test", "/", "d", { "x-ver": "v2.7" });
    second = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2"] });
    await turnout.waitUntil(async () => (await other("rep.test", "/", { "x-ver": "v2.7" })) === "d", 5000, "second replica routes");
  });

  after(async () => {
    await second?.stop();
  });

  test("it routes like the first: regex matches in both workers, the same hash mapping, affinity cookies honoured", async () => {
    // Fresh connections spread over both workers.
    for (let i = 0; i < 10; i++) {
      assert.equal(await other("rep.test", "/", { "x-ver": "v2.13" }), "d");
      assert.notEqual(await other("rep.test", "/", { "x-ver": "v2.13-rc" }), "d");
    }
    for (let u = 0; u < 30; u++) assert.equal(await other("rep-hash.test", "/", { "x-user": `u${u}` }), await upstreamOf("rep-hash.test", "/", { "x-user": `u${u}` }), `u${u}`);
    const first = await send("rep.test", "/");
    const cookie = String(first.headers["set-cookie"]?.[0]).split(";")[0]!;
    for (let i = 0; i < 10; i++) assert.equal(await other("rep.test", "/", { cookie }), answeredBy(first), "the affinity cookie holds on the other replica");
  });

});

describe("defaultBackend of an annotated Ingress", () => {
  const remove = async (...names: string[]): Promise<void> => {
    for (const name of names) await api.client.delete({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name });
  };

  test("a header-matched canary's defaultBackend takes neither the host's nor other hosts' requests without the header", async () => {
    const k = api.client;
    // The canary is the oldest Ingress with a defaultBackend: it owns the host fallback and would be the global default.
    await k.apply(
      ingress({ name: "fbm-canary", host: "fbm.test", creationTimestamp: "2025-01-01T00:00:00Z", annotations: { "turnout.dev/match-headers": "X-Canary=always" }, paths: [{ path: "/api", service: "b", port: 80 }], defaultBackend: { service: "b", port: 80 } }),
    );
    await k.apply(ingress({ name: "fbm-stable", host: "fbm.test", creationTimestamp: "2025-01-02T00:00:00Z", paths: [{ path: "/api", service: "a", port: 80 }] }));
    try {
      await eventually("fbm.test", "/api", "b", { "x-canary": "always" });
      assert.equal(await upstreamOf("fbm.test", "/api"), "a");
      const hostFallback = await upstreamOf("fbm.test", "/elsewhere");
      const unknownHost = await upstreamOf("unknown-host.test", "/");
      assert.deepEqual({ hostFallback, unknownHost }, { hostFallback: "status 404", unknownHost: "status 404" }, "requests without X-Canary: always went to the canary Ingress's defaultBackend");
    } finally {
      await remove("fbm-canary", "fbm-stable");
    }
  });

  test("a weight-0 (staged) Ingress's defaultBackend takes no traffic", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "fbw-staged", host: "fbw.test", creationTimestamp: "2025-01-01T00:00:00Z", annotations: { "turnout.dev/weight": "0" }, paths: [{ path: "/", service: "b", port: 80 }], defaultBackend: { service: "b", port: 80 } }));
    await k.apply(ingress({ name: "fbw-stable", host: "fbw.test", creationTimestamp: "2025-01-02T00:00:00Z", paths: [{ path: "/api", service: "a", port: 80 }] }));
    try {
      await eventually("fbw.test", "/api", "a");
      const counts = await tally(20, 4, () => upstreamOf("fbw.test", "/"));
      assert.deepEqual([...counts], [["status 404", 20]], "the staged Ingress (weight 0) took the host's other requests through its defaultBackend");
    } finally {
      await remove("fbw-staged", "fbw-stable");
    }
  });
});

describe("header value encoding", () => {
  test("match-headers with a non-ASCII value is refused (InvalidAnnotation: must be ASCII), the Ingress left out", async () => {
    const k = api.client;
    await k.apply(ingress({ name: "utf-base", host: "utf.test", creationTimestamp: "2026-01-01T00:00:00Z", paths: root("a") }));
    await k.apply(ingress({ name: "utf-city", host: "utf.test", annotations: { "turnout.dev/match-headers": "X-City=München" }, paths: root("b") }));
    await eventually("utf.test", "/", "a");
    // Node reads header bytes as latin1: no UTF-8 client could ever send a value equal to it.
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).diagnostics.some((d) => d.ref.name === "utf-city" && d.reason === "InvalidAnnotation" && /must be ASCII/.test(d.message)), 3000, "InvalidAnnotation for the non-ASCII value");
    const utf8AsBytes = Buffer.from("München", "utf8").toString("latin1");
    assert.equal(await upstreamOf("utf.test", "/", { "x-city": utf8AsBytes }), "a", "the Ingress is left out");
  });
});

describe("per-Ingress forwarding policy on a shared Service", () => {
  test("read-timeout applies per Ingress; retry-on 5xx moves the request to another endpoint", async () => {
    const k = api.client;
    const slow = fleet[6]!;
    const failing = fleet[0]!;
    await k.apply(service("ab"));
    await k.apply(endpointSlice("ab-1", "ab", port, [{ ip: IPS[0]! }, { ip: IPS[1]! }]));
    await k.apply(ingress({ name: "rt-short", host: "rt-short.test", annotations: { "turnout.dev/read-timeout": "300ms" }, paths: root("d") }));
    await k.apply(ingress({ name: "rt-long", host: "rt-long.test", paths: root("d") }));
    await k.apply(ingress({ name: "r5-retry", host: "r5-retry.test", annotations: { "turnout.dev/retry-on": "5xx", "turnout.dev/retries": "1" }, paths: root("ab") }));
    await k.apply(ingress({ name: "r5-plain", host: "r5-plain.test", paths: root("ab") }));
    await eventually("r5-plain.test", "/", "a");
    await eventually("rt-long.test", "/", "d");
    slow.delayMs = 1500;
    failing.status = 500;
    try {
      // The upstream answers after 1.5 s; rt-short allows 300 ms (its precision is checked below).
      const [short, long] = await Promise.all([upstreamOf("rt-short.test"), upstreamOf("rt-long.test")]);
      assert.deepEqual({ short, long }, { short: "status 504", long: "d" });
      const retried = await tally(40, 4, () => upstreamOf("r5-retry.test"));
      assert.deepEqual([...retried], [["b", 40]]);
      const plain = await tally(40, 4, () => upstreamOf("r5-plain.test"));
      assert.ok((plain.get("status 500") ?? 0) > 0, `without retry-on 5xx the 500s reach the client: ${JSON.stringify([...plain])}`);
    } finally {
      slow.delayMs = 0;
      failing.status = undefined;
    }
  });
});

describe("annotation transitions of a route group", () => {
  test("plain conflict -> weighted -> invalid edit (kept) -> plain again, and a kept version on its old host", async () => {
    const k = api.client;
    const a = ingress({ name: "tr-a", host: "tr.test", creationTimestamp: "2026-01-01T00:00:00Z", paths: root("a") });
    const b = (annotations?: Record<string, string>, host = "tr.test") =>
      ingress({ name: "tr-b", host, creationTimestamp: "2026-01-02T00:00:00Z", ...(annotations ? { annotations } : {}), paths: root("b") });
    const conflicted = async (): Promise<boolean> => (await turnout.debugRoutes()).diagnostics.some((d) => d.ref.name === "tr-b" && d.reason === "PathConflict");
    await k.apply(a);
    await k.apply(b());
    await turnout.waitUntil(conflicted, 4000, "PathConflict");
    assert.deepEqual([...(await tally(20, 4, () => upstreamOf("tr.test")))], [["a", 20]]);
    await k.apply(b({ "turnout.dev/weight": "50" }));
    await turnout.waitUntil(async () => (await tally(20, 4, () => upstreamOf("tr.test"))).size === 2, 4000, "shared path");
    assert.equal(await conflicted(), false);
    await k.apply(b({ "turnout.dev/weight": "fifty" }));
    await waitForDiagnostic("tr-b", "InvalidAnnotation", "fifty");
    assert.equal((await tally(40, 4, () => upstreamOf("tr.test"))).size, 2, "the kept weighted version still shares the path");
    await k.apply(b());
    await turnout.waitUntil(conflicted, 4000, "PathConflict again");
    assert.deepEqual([...(await tally(20, 4, () => upstreamOf("tr.test")))], [["a", 20]]);
    // Moved to another host with an invalid annotation: the kept version stays on the old host only.
    await k.apply(b({ "turnout.dev/weight": "50" }, "tr-solo.test"));
    await eventually("tr-solo.test", "/", "b");
    await k.apply(b({ "turnout.dev/weight": "x" }, "tr-moved.test"));
    await waitForDiagnostic("tr-b", "InvalidAnnotation", "\"x\"");
    assert.equal(await upstreamOf("tr-moved.test"), "status 404");
    assert.equal(await upstreamOf("tr-solo.test"), "b");
    await k.apply(b({ "turnout.dev/weight": "50" }, "tr-moved.test"));
    await eventually("tr-moved.test", "/", "b");
    await eventually("tr-solo.test", "/", "status 404");
  });
});

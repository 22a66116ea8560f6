// What a production operator runs into with --workers 2 (cluster mode, against the
// Kubernetes API test server): a burst of Ingress changes must leave every worker
// serving exactly the final state; /metrics must stay a valid Prometheus exposition
// with bounded cardinality and counters that match what was served, never going
// backwards when a worker dies; /readyz must not say ready before the routes work;
// SIGTERM and SIGINT must drain and exit 0; bad flags must all be reported at once.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, answeredBy, httpRequest, sleep } from "./support/turnout-process.ts";
import type { HttpResult } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { childPids, freePort, isAlive } from "./support/processes.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

const IPS = ["127.0.0.100", "127.0.0.101", "127.0.0.102"];
const ENTRY = fileURLToPath(new URL("../cmd/turnout.ts", import.meta.url));

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let port: number;
let turnout: TurnoutProcess;

/** One request on a connection of its own, so that either worker may answer it. */
function fresh(host: string, path = "/", to: TurnoutProcess = turnout, options: { method?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return httpRequest({ port: to.httpPort, path, method: options.method ?? "GET", headers: { host }, agent: false, timeoutMs: options.timeoutMs ?? 5000 });
}

/** Runs `tasks` with at most `limit` at once. */
async function pooled<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, run));
  return results;
}

/** A deterministic PRNG (mulberry32), so a failing burst can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- Prometheus text format ------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  line: number;
}

interface Exposition {
  help: Map<string, number>;
  type: Map<string, string>;
  samples: Sample[];
  problems: string[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseLabels(text: string, problems: string[], where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) {
      problems.push(`${where}: bad labels ${text}`);
      break;
    }
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) problems.push(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) problems.push(`${where}: label ${name} twice`);
    if (text[eq + 1] !== '"') {
      problems.push(`${where}: unquoted label value`);
      break;
    }
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const escaped = text[++j];
        if (escaped === "n") value += "\n";
        else if (escaped === "\\" || escaped === '"') value += escaped;
        else problems.push(`${where}: bad escape \\${escaped ?? ""}`);
      } else value += text[j];
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === "histogram" || types.get(base) === "summary") return base;
    }
  }
  return name;
}

/** Parses a scrape and lists everything Prometheus would reject or mis-read. */
function parseExposition(text: string): Exposition {
  const exposition: Exposition = { help: new Map(), type: new Map(), samples: [], problems: [] };
  const { help, type, samples, problems } = exposition;
  const seenSeries = new Set<string>();
  const familyOrder: string[] = [];
  text.split("\n").forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line === "") return;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name = "", rest = ""] = meta;
      if (!NAME.test(name)) problems.push(`${where}: bad metric name ${name}`);
      if (kind === "HELP") {
        if (help.has(name)) problems.push(`${where}: second HELP for ${name}`);
        help.set(name, index);
      } else {
        if (type.has(name)) problems.push(`${where}: second TYPE for ${name}`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) problems.push(`${where}: bad TYPE ${rest}`);
        if (samples.some((s) => familyOf(s.name, type) === name)) problems.push(`${where}: TYPE for ${name} after its samples`);
        type.set(name, rest);
      }
      return;
    }
    if (line.startsWith("#")) return;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?[0-9]+))?$/.exec(line);
    if (!m) {
      problems.push(`${where}: unparseable sample ${JSON.stringify(line)}`);
      return;
    }
    const [, name = "", labelText = "", rawValue = ""] = m;
    // Prometheus parses values with Go's strconv.ParseFloat: NaN in any case (prom-client writes "Nan").
    const isNaN = rawValue.toLowerCase() === "nan";
    const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : isNaN ? NaN : Number(rawValue);
    if (Number.isNaN(value) && !isNaN) problems.push(`${where}: bad value ${rawValue}`);
    const labels = parseLabels(labelText, problems, where);
    const key = `${name}{${Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
    if (seenSeries.has(key)) problems.push(`${where}: duplicate series ${key}`);
    seenSeries.add(key);
    const family = familyOf(name, type);
    if (familyOrder.at(-1) !== family) {
      if (familyOrder.includes(family)) problems.push(`${where}: samples of ${family} are not grouped together`);
      familyOrder.push(family);
    }
    samples.push({ name, labels, value, line: index + 1 });
  });
  // Histograms: cumulative buckets, +Inf equal to _count, for every series.
  for (const [name, kind] of type) {
    if (kind !== "histogram") continue;
    const bySeries = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      bySeries.set(key, [...(bySeries.get(key) ?? []), s]);
    }
    for (const [key, buckets] of bySeries) {
      const sorted = [...buckets].sort((a, b) => (a.labels.le === "+Inf" ? Infinity : Number(a.labels.le)) - (b.labels.le === "+Inf" ? Infinity : Number(b.labels.le)));
      for (let i = 1; i < sorted.length; i++) if (sorted[i]!.value < sorted[i - 1]!.value) problems.push(`${name}${key}: bucket le=${sorted[i]!.labels.le} below the previous one`);
      const inf = sorted.find((s) => s.labels.le === "+Inf");
      if (!inf) problems.push(`${name}${key}: no +Inf bucket`);
      const count = samples.find((s) => s.name === `${name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
      if (inf && count?.value !== inf.value) problems.push(`${name}${key}: _count ${count?.value} != +Inf bucket ${inf.value}`);
    }
  }
  return exposition;
}

/** Sum of one metric's samples whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseExposition(text)
    .samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function metrics(to: TurnoutProcess = turnout): Promise<string> {
  const res = await to.admin("/metrics");
  assert.equal(res.status, 200, res.body);
  return res.body;
}

/** Waits until every worker serves the primary's table and that table mentions `marker`. */
async function everyWorkerServes(marker: string, to: TurnoutProcess = turnout): Promise<void> {
  await to.waitUntil(
    async () => {
      const res = await to.admin("/debug/routes");
      const debug = JSON.parse(res.body) as { generation: number; workers?: { listening: boolean; generation: number }[] };
      const workers = debug.workers ?? [];
      return res.body.includes(marker) && workers.length === 2 && workers.every((w) => w.listening && w.generation === debug.generation);
    },
    8000,
    `every worker to serve a table with ${marker}`,
  );
}

before(async () => {
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["a1", "b1", "c1"], IPS);
  port = fleet[0]!.port;
  const k = api.client;
  await k.apply(ingressClass());
  for (const name of ["svc-a", "svc-b", "svc-c"]) await k.apply(service(name));
  await k.apply(endpointSlice("svc-a-1", "svc-a", port, [{ ip: IPS[0]! }]));
  await k.apply(endpointSlice("svc-b-1", "svc-b", port, [{ ip: IPS[1]! }]));
  await k.apply(endpointSlice("svc-c-1", "svc-c", port, [{ ip: IPS[2]! }]));
  await k.apply(ingress({ name: "main", host: "shop.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2"] });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

describe("a burst of Ingress changes", () => {
  test("200 creates, edits, host moves and deletes in a burst: every worker serves exactly the final state", async () => {
    const random = prng(20240611);
    const HOSTS = ["h0.burst.test", "h1.burst.test", "h2.burst.test", "h3.burst.test", "h4.burst.test", "h5.burst.test"];
    const SERVICES: Record<string, string> = { "svc-a": "a1", "svc-b": "b1", "svc-c": "c1" };
    const NAMES = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
    // The model: what each Ingress is after the burst (undefined: deleted or never made).
    const model = new Map<string, { host: string; service: string } | undefined>();
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    for (let op = 0; op < 200; op++) {
      const name = pick(NAMES);
      const current = model.get(name);
      if (current && random() < 0.3) {
        await api.client.delete({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name });
        model.set(name, undefined);
        continue;
      }
      // Create, or edit: another backend and/or another host (the path stays the Ingress's own).
      const next = { host: current && random() < 0.5 ? current.host : pick(HOSTS), service: pick(Object.keys(SERVICES)) };
      await api.client.apply(ingress({ name, host: next.host, paths: [{ path: `/${name}`, service: next.service, port: 80 }] }));
      model.set(name, next);
    }
    await api.client.apply(ingress({ name: "burst-done", host: "burst-done.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await everyWorkerServes("burst-done.test");

    // Every (host, path) pair, twice, each on a fresh connection: both workers answer some of each.
    const tasks: (() => Promise<string>)[] = [];
    for (const host of HOSTS) {
      for (const name of NAMES) {
        const state = model.get(name);
        const expected = state?.host === host ? SERVICES[state.service]! : "status 404";
        for (let i = 0; i < 2; i++) {
          tasks.push(async () => {
            const got = answeredBy(await fresh(host, `/${name}`));
            return got === expected ? "" : `${host}/${name}: expected ${expected}, got ${got}`;
          });
        }
      }
    }
    const wrong = (await pooled(tasks, 16)).filter((s) => s !== "");
    assert.deepEqual(wrong, [], `stale or wrong answers after the burst:\n${wrong.slice(0, 20).join("\n")}`);
  });

  test("60 EndpointSlice creates, edits and deletes in a burst: every worker sends traffic to exactly the final endpoints", async () => {
    const random = prng(99);
    await api.client.apply(service("svc-flip"));
    await api.client.apply(ingress({ name: "flip", host: "flip.test", paths: [{ path: "/", service: "svc-flip", port: 80 }] }));
    const SLICES = ["flip-1", "flip-2", "flip-3"];
    const model = new Map<string, string[]>();
    for (let op = 0; op < 60; op++) {
      const name = SLICES[Math.floor(random() * SLICES.length)]!;
      if (model.has(name) && random() < 0.3) {
        await api.client.delete({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", namespace: "default", name });
        model.delete(name);
        continue;
      }
      const ips = IPS.filter(() => random() < 0.5);
      await api.client.apply(endpointSlice(name, "svc-flip", port, ips.map((ip) => ({ ip }))));
      model.set(name, ips);
    }
    // The final state: only IPS[1] (b1) behind svc-flip, in one slice; the others deleted.
    for (const name of SLICES) {
      if (name !== "flip-2" && model.has(name)) await api.client.delete({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", namespace: "default", name });
    }
    await api.client.apply(endpointSlice("flip-2", "svc-flip", port, [{ ip: IPS[1]! }]));
    await turnout.waitUntil(async () => JSON.stringify((await turnout.debugRoutes()).endpoints["default/svc-flip:80"]?.map((e) => e.address)) === JSON.stringify([`${IPS[1]}:${port}`]), 5000, "the primary to see the final endpoints");
    // Slices travel on the same ordered channel as tables: once a later table is served, they are applied.
    await api.client.apply(ingress({ name: "flip-done", host: "flip-done.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    await everyWorkerServes("flip-done.test");
    const answers = await pooled(Array.from({ length: 40 }, () => async () => answeredBy(await fresh("flip.test"))), 8);
    assert.deepEqual([...new Set(answers)], ["b1"]);
  });
});

describe("/metrics with two workers", () => {
  test("1,000 requests for random unknown hosts, paths and methods add a handful of series, none naming what the client sent", async () => {
    const beforeText = await metrics();
    const seriesBefore = parseExposition(beforeText).samples.filter((s) => s.name.startsWith("turnout_")).length;
    const random = prng(7);
    const methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PURGE", "FOO", "get", "Propfind"];
    const agent = new (await import("node:http")).Agent({ keepAlive: true, maxSockets: 16 });
    const hosts: string[] = [];
    let notFound = 0;
    try {
      const tasks = Array.from({ length: 1000 }, (_, i) => {
        const host = `rnd-${i}-${Math.floor(random() * 1e9).toString(36)}.unknown.test`;
        hosts.push(host);
        return () =>
          httpRequest({ port: turnout.httpPort, path: `/p/${Math.floor(random() * 1e9).toString(36)}?q=${i}`, method: methods[i % methods.length]!, headers: { host }, agent });
      });
      const results = await pooled(tasks, 16);
      // Node's HTTP parser may answer methods outside its list (FOO, get, Propfind) with 400 itself.
      const known = new Set(methods.slice(0, 8));
      assert.deepEqual([...new Set(results.filter((_, i) => known.has(methods[i % methods.length]!)).map((r) => r.status))], [404]);
      assert.ok(results.every((r) => r.status === 404 || r.status === 400));
      notFound = results.filter((r) => r.status === 404).length;
    } finally {
      agent.destroy();
    }
    let text = "";
    await turnout.waitUntil(async () => {
      text = await metrics();
      return total(text, "turnout_requests_total", { namespace: "", ingress: "", code: "404" }) - total(beforeText, "turnout_requests_total", { namespace: "", ingress: "", code: "404" }) === notFound;
    }, 3000, `${notFound} counted 404s`);
    const parsed = parseExposition(text);
    const seriesAfter = parsed.samples.filter((s) => s.name.startsWith("turnout_")).length;
    // At most one new series per method label (GET ... OTHER) per request metric and its histogram lines.
    assert.ok(seriesAfter - seriesBefore < 200, `series grew from ${seriesBefore} to ${seriesAfter}`);
    const unmatched = parsed.samples.filter((s) => s.name === "turnout_requests_total" && s.labels.ingress === "");
    assert.deepEqual([...new Set(unmatched.map((s) => s.labels.method))].sort(), ["DELETE", "GET", "HEAD", "OPTIONS", "OTHER", "PATCH", "POST", "PUT"], "PURGE is OTHER");
    assert.ok(!hosts.some((h) => text.includes(h)) && !text.includes("/p/") && !text.includes("unknown.test"), "no host or path became a label value");
  });

  test("the exposition is valid for Prometheus: one HELP and TYPE per family, grouped samples, no duplicate series, sane histograms", async () => {
    const exposition = parseExposition(await metrics());
    assert.deepEqual(exposition.problems, []);
    for (const name of ["turnout_requests_total", "turnout_config_generation", "turnout_active_connections", "turnout_endpoints", "process_cpu_user_seconds_total"]) {
      assert.ok(exposition.type.has(name), `${name} is exposed`);
    }
  });

  test("requests counted equal requests served, across both workers, with no double count", async () => {
    const labels = { namespace: "default", ingress: "main", service: "default/svc-a:80", method: "GET", code: "200" };
    const beforeText = await metrics();
    const results = await pooled(Array.from({ length: 150 }, () => () => fresh("shop.test", "/count")), 12);
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    let text = "";
    await turnout.waitUntil(async () => {
      text = await metrics();
      return total(text, "turnout_requests_total", labels) - total(beforeText, "turnout_requests_total", labels) >= 150;
    }, 3000, "150 counted requests");
    await sleep(200);
    text = await metrics();
    assert.equal(total(text, "turnout_requests_total", labels) - total(beforeText, "turnout_requests_total", labels), 150);
    const durationLabels = { namespace: "default", ingress: "main", method: "GET" };
    assert.equal(total(text, "turnout_request_duration_seconds_count", durationLabels) - total(beforeText, "turnout_request_duration_seconds_count", durationLabels), 150);
  });

  test("turnout_config_apply_latency_seconds: one observation per published table, each a plausible duration", async () => {
    const beforeText = await metrics();
    const published = (t: string): number => total(t, "turnout_reloads_total", { result: "published" });
    const observed = (t: string): number => total(t, "turnout_config_apply_latency_seconds_count");
    const startedAt = Date.now();
    await api.client.apply(ingress({ name: "latency", host: "latency.test", paths: [{ path: "/", service: "svc-b", port: 80 }] }));
    await everyWorkerServes("latency.test");
    const elapsed = (Date.now() - startedAt) / 1000;
    const text = await metrics();
    assert.equal(observed(text) - observed(beforeText), published(text) - published(beforeText));
    assert.ok(observed(text) > observed(beforeText));
    const sum = total(text, "turnout_config_apply_latency_seconds_sum") - total(beforeText, "turnout_config_apply_latency_seconds_sum");
    assert.ok(sum > 0 && sum <= elapsed, `the lone change took ${sum} s to apply, the client saw it served within ${elapsed} s`);
  });

  test("a worker SIGKILLed between scrapes: no scrape ever sees a counter go backwards, and what was scraped stays counted", async () => {
    const labels = { namespace: "default", ingress: "main", code: "200" };
    const results = await pooled(Array.from({ length: 60 }, () => () => fresh("shop.test", "/before-kill")), 12);
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    await sleep(100);
    const scraped = total(await metrics(), "turnout_requests_total", labels);
    // Scrapers hammer /metrics while the worker dies: a scrape taken after its channel closed
    // but before the primary processed its exit must still include its counters.
    const seen: { at: number; value: number; problems: string[] }[] = [];
    let scraping = true;
    const scrapers = Array.from({ length: 6 }, async () => {
      while (scraping) {
        const res = await turnout.admin("/metrics");
        if (res.status !== 200) {
          seen.push({ at: Date.now(), value: NaN, problems: [`status ${res.status}: ${res.body.trim()}`] });
          continue;
        }
        const exposition = parseExposition(res.body);
        const value = exposition.samples.filter((s) => s.name === "turnout_requests_total" && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
        seen.push({ at: Date.now(), value, problems: exposition.problems });
      }
    });
    await sleep(100);
    const [victim] = childPids(turnout.pid);
    assert.ok(victim);
    process.kill(victim, "SIGKILL");
    try {
      await turnout.waitForLog((l) => l.msg === "proxy worker exited unexpectedly; restarting it" && l.pid === victim, 3000);
      await turnout.waitUntil(async () => {
        const workers = (await turnout.debugRoutes()).workers ?? [];
        return workers.length === 2 && workers.every((w) => w.pid !== victim && w.listening && w.generation > 0);
      }, 8000, "a replacement worker");
      await sleep(100);
    } finally {
      scraping = false;
      await Promise.all(scrapers);
    }
    const failed = seen.filter((s) => Number.isNaN(s.value));
    assert.deepEqual(failed.map((s) => s.problems), [], "every scrape succeeds while a worker dies");
    const drops = seen.filter((s) => s.value < scraped).map((s) => `${s.value} < ${scraped}`);
    assert.deepEqual(drops, [], `scrapes after the crash went below the last scrape before it (${seen.length} scrapes)`);
    assert.deepEqual(seen.flatMap((s) => s.problems), []);
    const afterText = await metrics();
    assert.ok(total(afterText, "turnout_requests_total", labels) >= scraped);
    assert.deepEqual(parseExposition(afterText).problems, []);
  });
});

describe("/readyz and /debug/routes", () => {
  test("before the first sync /readyz fails; once it says ready, both workers route the Ingresses and their endpoints", async () => {
    // The EndpointSlice list is slow: a table built before it arrives has routes without endpoints.
    await api.client.delayNext(1, 1500, { verb: "list", resource: "endpointslices" });
    const own = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2"], skipReadyWait: true });
    try {
      const early = await own.admin("/readyz");
      assert.equal(early.status, 503, `ready before anything was listed: ${early.body}`);
      await own.waitUntil(async () => (await own.admin("/readyz")).status === 200, 10_000, "readyz");
      const answers = await pooled(Array.from({ length: 12 }, () => async () => answeredBy(await fresh("shop.test", "/", own))), 6);
      assert.deepEqual(answers, Array(12).fill("a1"), "ready means the routes work on every worker");
    } finally {
      await own.stop();
      await api.client.clearDelays();
    }
  });

  test("/debug/routes shows a not-ready endpoint as not usable, and traffic avoids it on every worker", async () => {
    await api.client.apply(endpointSlice("svc-c-1", "svc-c", port, [{ ip: IPS[2]! }, { ip: IPS[0]!, ready: false }]));
    await api.client.apply(ingress({ name: "mixed", host: "mixed.test", paths: [{ path: "/", service: "svc-c", port: 80 }] }));
    await everyWorkerServes("mixed.test");
    await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/svc-c:80"]?.length === 2, 3000, "two endpoints");
    const endpoints = (await turnout.debugRoutes()).endpoints["default/svc-c:80"] ?? [];
    const byAddress = Object.fromEntries(endpoints.map((e) => [e.address, { ready: e.ready, usable: e.usable }]));
    assert.deepEqual(byAddress, { [`${IPS[2]}:${port}`]: { ready: true, usable: true }, [`${IPS[0]}:${port}`]: { ready: false, usable: false } });
    const answers = await pooled(Array.from({ length: 16 }, () => async () => answeredBy(await fresh("mixed.test"))), 8);
    assert.deepEqual(answers, Array(16).fill("c1"));
  });
});

describe("every worker crashing at once", () => {
  const variants = [
    { kind: "port 0 (one shared socket)", own: false },
    { kind: "fixed ports (a socket per worker)", own: true },
  ];
  for (const { kind, own: ownInstance } of variants) {
    test(`${kind}: /readyz fails while no worker serves, the replacements serve the same port, counters stay put`, async () => {
      const to = ownInstance
        ? await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2", "--http-port", String(await freePort()), "--https-port", String(await freePort())] })
        : turnout;
      try {
        await crashEveryWorker(to);
      } finally {
        if (ownInstance) await to.stop();
      }
    });
  }
});

async function crashEveryWorker(to: TurnoutProcess): Promise<void> {
  const labels = { namespace: "default", ingress: "main", code: "200" };
  assert.equal((await fresh("shop.test", "/", to)).status, 200);
  const scraped = total(await metrics(to), "turnout_requests_total", labels);
  const victims = childPids(to.pid);
  assert.equal(victims.length, 2);
  const statuses: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      statuses.push((await to.admin("/readyz")).status);
      await sleep(5);
    }
  })();
  try {
    for (const pid of victims) process.kill(pid, "SIGKILL");
    for (const pid of victims) await to.waitForLog((l) => l.msg === "proxy worker exited unexpectedly; restarting it" && l.pid === pid, 3000);
    await to.waitUntil(async () => {
      const workers = (await to.debugRoutes()).workers ?? [];
      return workers.length === 2 && workers.every((w) => !victims.includes(w.pid) && w.listening && w.generation > 0);
    }, 8000, "two replacement workers");
    await to.waitUntil(() => statuses.at(-1) === 200, 2000, "ready again");
  } finally {
    polling = false;
    await poller;
  }
  assert.ok(statuses.includes(503), `readiness failed while no worker served: ${[...new Set(statuses)].join(", ")}`);
  // Ready again: the port turnout logged as listening (what a Service targets) must answer.
  const served = to.logs.filter((l) => l.msg === "proxy worker serving").map((l) => `worker ${String(l.worker)} on ${String(l.http)}`);
  const res = await fresh("shop.test", "/", to).catch((e: unknown) => ({ status: String(e) }));
  assert.equal(res.status, 200, `turnout listens on http port ${to.httpPort}; ${served.join(", ")}`);
  const text = await metrics(to);
  assert.ok(total(text, "turnout_requests_total", labels) >= scraped, "no counter went backwards");
  assert.ok(total(text, "turnout_worker_restarts_total") >= 2, "every crash is counted");
  assert.deepEqual(parseExposition(text).problems, []);
}

describe("a hung worker", () => {
  test("a worker whose event loop stops (SIGSTOP) is killed after --worker-unresponsive-timeout and replaced; the other is left alone", async () => {
    const own = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2", "--worker-unresponsive-timeout", "1s"] });
    let victim: number | undefined;
    try {
      await everyWorkerServes("shop.test", own);
      const [first, other] = childPids(own.pid);
      victim = first;
      assert.ok(victim !== undefined && other !== undefined);
      process.kill(victim, "SIGSTOP");
      const line = await own.waitForLog((l) => l.msg === "proxy worker unresponsive; killing it so that it is restarted" && l.pid === victim, 5000);
      assert.ok(Number(line.silentForMs) >= 1000, `silent for ${String(line.silentForMs)} ms`);
      await own.waitUntil(async () => {
        const workers = (await own.debugRoutes()).workers ?? [];
        return workers.length === 2 && workers.every((w) => w.pid !== victim && w.listening && w.generation > 0);
      }, 8000, "a replacement worker serving");
      assert.ok(!isAlive(victim), "the hung worker is gone");
      assert.ok(isAlive(other) && childPids(own.pid).includes(other), "the responsive worker was not touched");
      // Every new connection is answered again: none lands on a socket nobody reads.
      const results = await pooled(Array.from({ length: 40 }, () => () => fresh("shop.test", "/", own, { timeoutMs: 3000 }).then((r) => r.status, (e: unknown) => String(e))), 8);
      assert.deepEqual(results.filter((r) => r !== 200), []);
    } finally {
      // Should turnout leave it, a stopped process never exits: do not hang the suite.
      if (victim !== undefined && isAlive(victim)) process.kill(victim, "SIGKILL");
      await own.stop();
    }
  });
});

describe("signals", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} under a request loop with --workers 2: liveness holds, no accepted request fails, every process exits 0`, async () => {
      const own = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2", "--shutdown-delay", "400ms", "--shutdown-grace", "5s"] });
      const workers = childPids(own.pid);
      assert.equal(workers.length, 2);
      const slow = fleet[1]!;
      await api.client.apply(ingress({ name: "slow", host: "slow.test", paths: [{ path: "/", service: "svc-b", port: 80 }] }));
      await everyWorkerServes("slow.test", own);
      slow.delayMs = 150;
      const failures: string[] = [];
      let ok = 0;
      let refused = 0;
      let stop = false;
      const loop = async (): Promise<void> => {
        while (!stop) {
          try {
            const res = await fresh("slow.test", "/", own, { timeoutMs: 4000 });
            if (res.status === 200) ok++;
            else failures.push(`${res.status} ${String(res.headers["x-turnout-error"] ?? "")} ${res.body.slice(0, 80)}`);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            // Refused: the listener is closed, the client retries elsewhere. Anything else lost an accepted request.
            if (code === "ECONNREFUSED") {
              refused++;
              await sleep(10);
            } else failures.push(String(error));
          }
        }
      };
      const loops = Array.from({ length: 6 }, loop);
      try {
        await sleep(300);
        own.signal(signal);
        if (signal === "SIGTERM") {
          await own.waitUntil(async () => (await own.admin("/readyz")).status === 503, 1000, "readiness to fail");
          assert.equal((await own.admin("/healthz")).status, 200, "liveness holds while draining");
        }
        const code = await Promise.race([own.exited, sleep(8000).then(() => "still running")]);
        assert.equal(code, 0, `exit code; logs:\n${own.dumpLogs(20)}`);
      } finally {
        stop = true;
        await Promise.all(loops);
        slow.delayMs = 0;
        await own.stop();
      }
      await own.waitUntil(() => workers.every((pid) => !isAlive(pid)), 2000, "the workers to exit");
      assert.ok(ok > 10, `requests were served (${ok} ok, ${refused} refused)`);
      assert.deepEqual(failures, [], `accepted requests failed (${ok} ok, ${refused} refused)`);
      assert.ok(own.logs.some((l) => l.msg === "stopped"), "the last log line says it stopped");
      assert.deepEqual(own.logs.filter((l) => l.level === "error" || l.level === "stderr").map((l) => l.msg), []);
    });
  }

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`${signal} to every process at once (Ctrl-C, systemd's kill mode): the workers leave shutdown to the primary, exit 0`, async () => {
      const own = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2", "--shutdown-delay", "300ms", "--shutdown-grace", "5s"] });
      const workers = childPids(own.pid);
      assert.equal(workers.length, 2);
      const slow = fleet[1]!;
      await api.client.apply(ingress({ name: "slow", host: "slow.test", paths: [{ path: "/", service: "svc-b", port: 80 }] }));
      await everyWorkerServes("slow.test", own);
      slow.delayMs = 400;
      try {
        const inFlight = Array.from({ length: 6 }, () => fresh("slow.test", "/", own).then((r) => String(r.status), (e: unknown) => String(e)));
        await sleep(150);
        for (const pid of [own.pid, ...workers]) process.kill(pid, signal);
        assert.deepEqual(await Promise.all(inFlight), Array(6).fill("200"));
        const code = await Promise.race([own.exited, sleep(8000).then(() => "still running")]);
        assert.equal(code, 0);
      } finally {
        slow.delayMs = 0;
        await own.stop();
      }
      await own.waitUntil(() => workers.every((pid) => !isAlive(pid)), 2000, "the workers to exit");
      assert.deepEqual(own.logs.filter((l) => l.level === "error" || l.level === "stderr").map((l) => l.msg), []);
    });
  }
});

describe("invalid configuration", () => {
  test("every invalid flag and variable is reported at once, on stderr, with exit status 2 and no listener", async () => {
    const child = spawn(
      process.execPath,
      [ENTRY, "--workers", "0", "--http-port", "70000", "--shutdown-delay", "5", "--log-level", "loud", "--default-backend-service", "nope"],
      { env: { ...process.env, KUBERNETES_SERVICE_HOST: "", TURNOUT_ADMIN_PORT: "abc" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    assert.equal(code, 2, stderr);
    for (const named of ["--workers", "--http-port", "--shutdown-delay", "--log-level", "--default-backend-service", "TURNOUT_ADMIN_PORT"]) {
      assert.match(stderr, new RegExp(named), `${named} is named in:\n${stderr}`);
    }
    assert.equal(stdout, "");
  });

  test("an unknown flag is reported with the other problems, exit status 2", async () => {
    const child = spawn(process.execPath, [ENTRY, "--wrokers", "2", "--http-port=70000"], { env: { ...process.env, KUBERNETES_SERVICE_HOST: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /wrokers/);
    assert.match(stderr, /http-port/);
  });
});

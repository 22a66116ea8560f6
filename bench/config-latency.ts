// Section 4, config-to-traffic latency in cluster mode: turnout watches the
// Kubernetes API test server; with 100 and then 5,000 Ingresses loaded, time from
// creating an Ingress for a new host to the first request the new route serves
// (polled every ~1 ms with a fresh request), and count failed requests on an
// existing route while a burst of route changes lands.
import http from "node:http";
import { fileURLToPath } from "node:url";
import { startKubeApiServer } from "../e2e/kube-api-server/harness.ts";
import type { KubeTestClient } from "../e2e/kube-api-server/harness.ts";
import { endpointSlice, ingress, ingressClass, service } from "../e2e/support/objects.ts";
import { Child, Cleanup, NODE, sleep, waitFor } from "./processes.ts";
import type { Report } from "./report.ts";
import { count, fixed, percentile, printTable, ratio } from "./report.ts";
import type { SectionContext } from "./section.ts";
import { DEFAULT_VARIANT, TurnoutRunner, metricSample } from "./turnout-runner.ts";

const SECTION = "config-latency";
const NAMESPACE = "bench";
const SERVICES = 100;
const UPSTREAM_HOST = "127.0.0.41";
const UPSTREAMS_SCRIPT = fileURLToPath(new URL("./upstream-servers.ts", import.meta.url));
const POLL_TIMEOUT_MS = 5000;

const hostOf = (name: string): string => `${name}.cfg.bench`;
const appIngress = (i: number, extraPaths: string[] = []) =>
  ingress({
    name: `app${i}`, namespace: NAMESPACE, host: hostOf(`app${i}`),
    paths: [{ path: "/", service: `svc${i % SERVICES}`, port: 80 }, ...extraPaths.map((path) => ({ path, service: `svc${i % SERVICES}`, port: 80 }))],
  });
const newIngress = (name: string) => ingress({ name, namespace: NAMESPACE, host: hostOf(name), paths: [{ path: "/", service: "svc0", port: 80 }] });

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);

class Poller {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  readonly #port: number;

  constructor(port: number) {
    this.#port = port;
  }

  /** Status of one GET for `host` through turnout; 0 on a network error. */
  status(host: string, path = "/"): Promise<number> {
    return new Promise((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: this.#port, path, headers: { host }, agent: this.#agent, timeout: 2000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(0));
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(0));
    });
  }

  /** ms from `since` until `host` answers 200, polling every ~1 ms; undefined after POLL_TIMEOUT_MS. */
  async firstServed(host: string, since: number): Promise<number | undefined> {
    while (performance.now() - since < POLL_TIMEOUT_MS) {
      if ((await this.status(host)) === 200) return performance.now() - since;
      await sleep(1);
    }
    return undefined;
  }

  close(): void {
    this.#agent.destroy();
  }
}

interface SizeResult {
  ingresses: number;
  served: number[];
  writeMs: number[];
  timeouts: number;
  applyMeanMs: number;
  burstChanges: number;
  burstRequests: number;
  burstFailed: number;
}

async function applyLatencyTotals(turnout: TurnoutRunner): Promise<{ sum: number; count: number }> {
  const text = await turnout.metrics();
  return { sum: metricSample(text, "turnout_config_apply_latency_seconds_sum"), count: metricSample(text, "turnout_config_apply_latency_seconds_count") };
}

/** Creates Ingresses for new hosts one by one and times each to its first served request. */
async function measureEdits(k: KubeTestClient, turnout: TurnoutRunner, poller: Poller, size: number, edits: number): Promise<Omit<SizeResult, "burstChanges" | "burstRequests" | "burstFailed">> {
  const before = await applyLatencyTotals(turnout);
  const served: number[] = [];
  const writeMs: number[] = [];
  let timeouts = 0;
  for (let e = 0; e < edits; e++) {
    const name = `edit-${size}-${e}`;
    const started = performance.now();
    const write = k.create(newIngress(name)).then(() => writeMs.push(performance.now() - started));
    const latency = await poller.firstServed(hostOf(name), started);
    await write;
    if (latency === undefined) timeouts += 1;
    else served.push(latency);
    await sleep(100);
  }
  const after = await applyLatencyTotals(turnout);
  const applyMeanMs = after.count > before.count ? ((after.sum - before.sum) / (after.count - before.count)) * 1000 : Number.NaN;
  return { ingresses: size, served: served.sort((a, b) => a - b), writeMs: writeMs.sort((a, b) => a - b), timeouts, applyMeanMs };
}

/** Rewrites app`i`'s paths by merge patch (no resourceVersion, so concurrent writers do not conflict). */
function setPaths(k: KubeTestClient, i: number, extraPaths: string[]): Promise<unknown> {
  const { spec } = appIngress(i, extraPaths);
  return k.patch({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: NAMESPACE, name: `app${i}` }, { spec }, { type: "merge" });
}

/** A light request loop on app0's route while `changes` route changes (creates, edits, deletes, app0 itself included) land. */
async function measureBurst(k: KubeTestClient, poller: Poller, size: number, changes: number): Promise<{ requests: number; failed: number }> {
  let running = true;
  let requests = 0;
  let failed = 0;
  const load = Promise.all(range(0, 2).map(async () => {
    while (running) {
      requests += 1;
      if ((await poller.status(hostOf("app0"), "/")) !== 200) failed += 1;
      await sleep(1);
    }
  }));
  await sleep(200);
  await pool(range(0, changes), 8, async (j) => {
    const name = `burst-${size}-${j >> 2}`;
    if (j % 4 === 0) await k.create(newIngress(name));
    else if (j % 4 === 1) await setPaths(k, 1 + (j % (size - 1)), j % 8 === 1 ? ["/extra"] : []);
    else if (j % 4 === 2) await setPaths(k, 0, [`/extra-${j}`]);
    else await k.delete({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: NAMESPACE, name }).catch(() => undefined);
  });
  await sleep(1000);
  running = false;
  await load;
  return { requests, failed };
}

export async function runConfigLatency({ quick, report, variants }: SectionContext): Promise<void> {
  const edits = quick ? 10 : 30;
  const burstChanges = quick ? 60 : 200;
  const sizes = [100, 5000];
  console.log(`\n== 4. config-to-traffic latency, cluster mode against the Kubernetes API test server: ${edits} new-host Ingresses per size,`);
  console.log(`   then ${burstChanges} route changes (8 writers) under a light request loop on an existing route. 2 cores shared by API server, turnout and client.`);
  const cleanup = new Cleanup();
  const results: SizeResult[] = [];
  try {
    const upstream = new Child("upstream server", NODE, [UPSTREAMS_SCRIPT, "--hosts", UPSTREAM_HOST]);
    cleanup.add(() => upstream.stop());
    const upstreamPort = Number((await upstream.nextJsonLine(10_000) as { port: number }).port);
    const api = await startKubeApiServer();
    cleanup.add(() => api.stop());
    const k = api.client;
    await k.apply(ingressClass("turnout", true));
    await pool(range(0, SERVICES), 16, async (i) => {
      await k.create(service(`svc${i}`, NAMESPACE));
      await k.create(endpointSlice(`svc${i}-1`, `svc${i}`, upstreamPort, [{ ip: UPSTREAM_HOST }], NAMESPACE));
    });
    let loaded = sizes[0] ?? 100;
    await pool(range(0, loaded), 32, (i) => k.create(appIngress(i)));
    const turnout = await TurnoutRunner.start({ kubeconfig: api.kubeconfigPath, readyTimeoutMs: 60_000, variant: variants[0] ?? DEFAULT_VARIANT });
    cleanup.add(() => turnout.stop());
    const poller = new Poller(turnout.httpPort);
    cleanup.add(() => poller.close());
    for (const size of sizes) {
      if (size > loaded) {
        const started = performance.now();
        await pool(range(loaded, size), 32, (i) => k.create(appIngress(i)));
        loaded = size;
        await waitFor(async () => (await poller.status(hostOf(`app${size - 1}`))) === 200, 60_000, `${size} Ingresses to be served`);
        console.log(`   loaded ${count(size)} Ingresses in ${fixed((performance.now() - started) / 1000, 1)} s (create + served)`);
      }
      await sleep(500);
      const edit = await measureEdits(k, turnout, poller, size, edits);
      const burst = await measureBurst(k, poller, size, burstChanges);
      results.push({ ...edit, burstChanges, burstRequests: burst.requests, burstFailed: burst.failed });
    }
  } finally {
    await cleanup.run();
  }
  printResults(results, report);
}

function printResults(results: SizeResult[], report: Report): void {
  const base = results[0];
  printTable(
    "config to traffic (Ingress create -> first 200 on its new host; API write = the create call's round trip, the reference)",
    ["ingresses", "edits", "p50 ms", "p99 ms", "max ms", "timeouts", "API write p50 ms", "p50 vs API write", "p50 vs 100 Ingresses", "apply metric mean ms", "burst changes", "requests", "failed"],
    results.map((r) => [
      count(r.ingresses), count(r.served.length + r.timeouts), fixed(percentile(r.served, 0.5), 1), fixed(percentile(r.served, 0.99), 1), fixed(r.served.at(-1), 1), count(r.timeouts),
      fixed(percentile(r.writeMs, 0.5), 1), ratio(percentile(r.served, 0.5), percentile(r.writeMs, 0.5), 1), ratio(percentile(r.served, 0.5), base ? percentile(base.served, 0.5) : undefined),
      fixed(r.applyMeanMs, 1), count(r.burstChanges), count(r.burstRequests), count(r.burstFailed),
    ]),
  );
  const large = results.find((r) => r.ingresses === 5000);
  const p99 = large ? percentile(large.served, 0.99) : Number.NaN;
  report.check(SECTION, "config-to-traffic p99 < 50 ms at 5,000 Ingresses", large ? `${fixed(p99, 1)} ms${large.timeouts > 0 ? ` (${large.timeouts} timeouts)` : ""}` : "n/a", large ? p99 < 50 && large.timeouts === 0 : undefined);
  const failed = results.reduce((sum, r) => sum + r.burstFailed, 0);
  const requests = results.reduce((sum, r) => sum + r.burstRequests, 0);
  report.check(SECTION, "zero failed requests during route changes", `${failed} of ${count(requests)}`, results.length > 0 ? failed === 0 : undefined);
}

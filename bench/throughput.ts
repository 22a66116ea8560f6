// Section 1, throughput per core: wrk (closed loop, one thread) against turnout,
// nginx with one worker and a bare Node pipe, all forwarding to the same static
// nginx upstream, so the upstream costs each proxy the same. "Per core" is
// requests per CPU-second the proxy process itself used (from /proc), which
// corrects for the proxy getting less than a whole core on a shared machine.
import { fileURLToPath } from "node:url";
import { cpuSnapshot, othersCores } from "./machine-load.ts";
import { Nginx, reverseProxyConfig, staticUpstreamConfig } from "./nginx.ts";
import { Child, Cleanup, NODE, freePort, httpStatus, waitFor } from "./processes.ts";
import { count, fixed, median, medianOfRounds, printTable } from "./report.ts";
import type { SectionContext } from "./section.ts";
import { TurnoutRunner, gcTotals, removeFolder, singleRouteManifests, writeManifestFolder } from "./turnout-runner.ts";
import type { GcTotals, TurnoutVariant } from "./turnout-runner.ts";
import { runWrk } from "./wrk.ts";
import type { WrkResult } from "./wrk.ts";

const SECTION = "throughput";
const HOST = "bench.local";
const UPSTREAM_HOSTS = ["127.0.0.21", "127.0.0.22"];
const BARE_PROXY = fileURLToPath(new URL("./bare-proxy.ts", import.meta.url));
const NGINX_NAME = "nginx (1 worker)";
const BARE_NAME = "bare Node pipe";

interface Subject {
  name: string;
  port: number;
  cpuSeconds: () => number;
  /** turnout only: its garbage-collection totals so far. */
  gc?: () => Promise<GcTotals>;
}

interface Measurement {
  subject: string;
  connections: number;
  round: number;
  wrk: WrkResult;
  cpuSeconds: number;
  seconds: number;
  gcSeconds: number | undefined;
  othersCores: number;
}

/** Requests per CPU-second of the proxy: throughput of one fully used core. */
const perCore = (m: Measurement | undefined): number | undefined => (m && m.cpuSeconds > 0 ? m.wrk.requests / m.cpuSeconds : undefined);

/** Load that is not measured: warms connections, and V8's compiled code in a Node proxy. */
function warmUp(wrk: string, subject: Subject, connections: number, seconds: number): Promise<WrkResult> {
  return runWrk(wrk, { url: `http://127.0.0.1:${subject.port}/`, connections, seconds, headers: { Host: HOST } });
}

async function measure(wrk: string, subject: Subject, connections: number, round: number, seconds: number, warmupSeconds: number): Promise<Measurement> {
  const url = `http://127.0.0.1:${subject.port}/`;
  await warmUp(wrk, subject, connections, warmupSeconds);
  const gcBefore = await subject.gc?.();
  const machineBefore = cpuSnapshot();
  const before = subject.cpuSeconds();
  const result = await runWrk(wrk, { url, connections, seconds, headers: { Host: HOST } });
  const cpuSeconds = subject.cpuSeconds() - before;
  const others = othersCores(machineBefore, cpuSnapshot());
  const gcAfter = await subject.gc?.();
  const gcSeconds = gcBefore && gcAfter ? gcAfter.seconds - gcBefore.seconds : undefined;
  return { subject: subject.name, connections, round, wrk: result, cpuSeconds, seconds, gcSeconds, othersCores: others };
}

async function startSubjects(nginxBinary: string, variants: readonly TurnoutVariant[], cleanup: Cleanup): Promise<Subject[]> {
  const upstreamPort = await freePort(UPSTREAM_HOSTS[0]);
  const targets = UPSTREAM_HOSTS.map((h) => `${h}:${upstreamPort}`);
  const upstream = await Nginx.start(nginxBinary, "upstream", staticUpstreamConfig(UPSTREAM_HOSTS, upstreamPort), UPSTREAM_HOSTS[0] ?? "", upstreamPort);
  cleanup.add(() => upstream.stop());

  const nginxPort = await freePort();
  const nginx = await Nginx.start(nginxBinary, "proxy", reverseProxyConfig(nginxPort, targets, "round-robin"), "127.0.0.1", nginxPort);
  cleanup.add(() => nginx.stop());

  const bare = new Child(BARE_NAME, NODE, [BARE_PROXY, "0", ...targets]);
  cleanup.add(() => bare.stop());
  const barePort = Number((await bare.nextJsonLine(10_000) as { port: number }).port);

  const manifests = writeManifestFolder(singleRouteManifests(HOST, UPSTREAM_HOSTS, upstreamPort));
  cleanup.add(() => removeFolder(manifests));
  const subjects: Subject[] = [
    { name: NGINX_NAME, port: nginxPort, cpuSeconds: () => nginx.cpuSeconds() },
    { name: BARE_NAME, port: barePort, cpuSeconds: () => bare.cpuSeconds() },
  ];
  for (const variant of variants) {
    const turnout = await TurnoutRunner.start({ manifests, variant });
    cleanup.add(() => turnout.stop());
    subjects.push({ name: variant.label, port: turnout.httpPort, cpuSeconds: () => turnout.cpuSeconds(), gc: async () => gcTotals(await turnout.metrics()) });
  }
  for (const s of subjects) await waitFor(async () => (await httpStatus(s.port, "/", "127.0.0.1", { host: HOST })) === 200, 10_000, `${s.name} to forward`);
  return subjects;
}

/** One row for a subject's runs at one connection count: sums for rates, medians for latencies. */
function summary(runs: readonly Measurement[]): string[] {
  const sum = (f: (m: Measurement) => number): number => runs.reduce((total, m) => total + f(m), 0);
  const requests = sum((m) => m.wrk.requests);
  const cpu = sum((m) => m.cpuSeconds);
  const gc = runs.every((m) => m.gcSeconds !== undefined) ? sum((m) => m.gcSeconds ?? 0) : undefined;
  return [
    count(sum((m) => m.wrk.requestsPerSecond) / runs.length), fixed(median(runs.map((m) => m.wrk.p50Ms)), 2), fixed(median(runs.map((m) => m.wrk.p99Ms)), 2),
    count(sum((m) => m.wrk.errors)), fixed(sum((m) => m.othersCores) / runs.length, 2), `${fixed((cpu / sum((m) => m.seconds)) * 100, 0)}%`,
    gc === undefined ? "-" : `${fixed((gc / cpu) * 100, 0)}%`, fixed((cpu / requests) * 1e6, 1), count(requests / cpu),
  ];
}

export async function runThroughput({ tools, quick, report, variants }: SectionContext): Promise<void> {
  if (tools.nginx === undefined || tools.wrk === undefined) return report.skip(SECTION, `needs nginx and wrk: ${tools.problem ?? "missing"}`);
  const seconds = quick ? 3 : 5;
  const warmupSeconds = 1;
  // A Node proxy spends its first seconds under load compiling its hot paths (turnout
  // used 107% of a core at 0.7x its usual rate in a 1-round quick run): before round 1.
  const firstWarmupSeconds = 4;
  const rounds = quick ? 1 : 3;
  const connectionCounts = [50, 200];
  console.log(`\n== 1. throughput per core: wrk -t1, ${rounds} round(s) per connection count, each proxy ${seconds} s per round after a ${warmupSeconds} s warm-up`);
  console.log(`   (${firstWarmupSeconds} s before the first round), tiny responses from a static nginx upstream.`);
  console.log("   2 cores are shared by wrk, the proxy under test and the upstream nginx: absolute req/s are what is left for the proxy.");
  console.log("   Each round runs every proxy in turn (the order rotates); ratios are taken within a round, the verdict is their median.");
  const cleanup = new Cleanup();
  const results: Measurement[] = [];
  try {
    const subjects = await startSubjects(tools.nginx, variants, cleanup);
    for (const subject of subjects) await warmUp(tools.wrk, subject, connectionCounts[0] ?? 50, firstWarmupSeconds);
    for (const connections of connectionCounts) {
      for (let round = 0; round < rounds; round++) {
        const order = [...subjects.slice(round % subjects.length), ...subjects.slice(0, round % subjects.length)];
        for (const subject of order) results.push(await measure(tools.wrk, subject, connections, round, seconds, warmupSeconds));
      }
    }
  } finally {
    await cleanup.run();
  }

  const find = (subject: string, connections: number, round: number): Measurement | undefined => results.find((m) => m.subject === subject && m.connections === connections && m.round === round);
  /** Per-round ratios of `subject`'s per-core throughput to `against`'s at one connection count. */
  const roundRatios = (subject: string, against: string, connections: number): number[] =>
    Array.from({ length: rounds }, (_, round) => (perCore(find(subject, connections, round)) ?? Number.NaN) / (perCore(find(against, connections, round)) ?? Number.NaN));
  const names = [...new Set(results.map((m) => m.subject))];
  printTable(
    "throughput (per core = requests per CPU-second of the proxy process; rates summed over rounds, latencies the median of rounds)",
    ["proxy", "conns", "req/s", "p50 ms", "p99 ms", "errors", "others' cores", "proxy CPU %", "GC share of CPU", "CPU us/req", "per core req/s", "per core vs nginx", "per core vs bare"],
    connectionCounts.flatMap((connections) => names.map((name) => [
      name, String(connections), ...summary(results.filter((m) => m.subject === name && m.connections === connections)),
      `${fixed(median(roundRatios(name, NGINX_NAME, connections)), 2)}x`, `${fixed(median(roundRatios(name, BARE_NAME, connections)), 2)}x`,
    ])),
  );

  const describe = (against: string, label: string): string => connectionCounts.map((c) => `@${c} conns ${medianOfRounds(roundRatios(label, against, c))}`).join("; ");
  const met = (against: string, label: string, target: number): boolean => connectionCounts.every((c) => median(roundRatios(label, against, c)) >= target);
  for (const { label } of variants) {
    report.check(SECTION, `${label} per-core throughput >= 0.30x nginx (1 worker)`, describe(NGINX_NAME, label), met(NGINX_NAME, label, 0.3));
    report.check(SECTION, `${label} per-core throughput >= 1.0x bare Node pipe`, describe(BARE_NAME, label), met(BARE_NAME, label, 1.0));
  }
}

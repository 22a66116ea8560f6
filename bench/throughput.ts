// Section 1, throughput per core: wrk (closed loop, one thread) against turnout,
// nginx with one worker and a bare Node pipe, all forwarding to the same static
// nginx upstream, so the upstream costs each proxy the same. "Per core" is
// requests per CPU-second the proxy process itself used (from /proc), which
// corrects for the proxy getting less than a whole core on a shared machine.
import { fileURLToPath } from "node:url";
import { Nginx, reverseProxyConfig, staticUpstreamConfig } from "./nginx.ts";
import { Child, Cleanup, NODE, freePort, httpStatus, waitFor } from "./processes.ts";
import type { Report } from "./report.ts";
import { count, fixed, printTable, ratio } from "./report.ts";
import type { SystemTools } from "./system-tools.ts";
import { TurnoutRunner, removeFolder, singleRouteManifests, writeManifestFolder } from "./turnout-runner.ts";
import { runWrk } from "./wrk.ts";
import type { WrkResult } from "./wrk.ts";

const SECTION = "throughput";
const HOST = "bench.local";
const UPSTREAM_HOSTS = ["127.0.0.21", "127.0.0.22"];
const BARE_PROXY = fileURLToPath(new URL("./bare-proxy.ts", import.meta.url));

interface Subject {
  name: string;
  port: number;
  cpuSeconds: () => number;
}

interface Measurement {
  subject: string;
  connections: number;
  wrk: WrkResult;
  cpuSeconds: number;
  seconds: number;
}

/** Requests per CPU-second of the proxy: throughput of one fully used core. */
const perCore = (m: Measurement | undefined): number | undefined => (m && m.cpuSeconds > 0 ? m.wrk.requests / m.cpuSeconds : undefined);

async function measure(wrk: string, subject: Subject, connections: number, seconds: number, warmupSeconds: number): Promise<Measurement> {
  const url = `http://127.0.0.1:${subject.port}/`;
  await runWrk(wrk, { url, connections, seconds: warmupSeconds, headers: { Host: HOST } });
  const before = subject.cpuSeconds();
  const result = await runWrk(wrk, { url, connections, seconds, headers: { Host: HOST } });
  return { subject: subject.name, connections, wrk: result, cpuSeconds: subject.cpuSeconds() - before, seconds };
}

async function startSubjects(tools: { nginx: string }, cleanup: Cleanup): Promise<Subject[]> {
  const upstreamPort = await freePort(UPSTREAM_HOSTS[0]);
  const targets = UPSTREAM_HOSTS.map((h) => `${h}:${upstreamPort}`);
  const upstream = await Nginx.start(tools.nginx, "upstream", staticUpstreamConfig(UPSTREAM_HOSTS, upstreamPort), UPSTREAM_HOSTS[0] ?? "", upstreamPort);
  cleanup.add(() => upstream.stop());

  const nginxPort = await freePort();
  const nginx = await Nginx.start(tools.nginx, "proxy", reverseProxyConfig(nginxPort, targets, "round-robin"), "127.0.0.1", nginxPort);
  cleanup.add(() => nginx.stop());

  const bare = new Child("bare Node pipe", NODE, [BARE_PROXY, "0", ...targets]);
  cleanup.add(() => bare.stop());
  const barePort = Number((await bare.firstJsonLine(10_000) as { port: number }).port);

  const manifests = writeManifestFolder(singleRouteManifests(HOST, UPSTREAM_HOSTS, upstreamPort));
  cleanup.add(() => removeFolder(manifests));
  const turnout = await TurnoutRunner.start({ manifests });
  cleanup.add(() => turnout.stop());

  const subjects: Subject[] = [
    { name: "nginx (1 worker)", port: nginxPort, cpuSeconds: () => nginx.cpuSeconds() },
    { name: "bare Node pipe", port: barePort, cpuSeconds: () => bare.cpuSeconds() },
    { name: "turnout", port: turnout.httpPort, cpuSeconds: () => turnout.cpuSeconds() },
  ];
  for (const s of subjects) await waitFor(async () => (await httpStatus(s.port, "/", "127.0.0.1", { host: HOST })) === 200, 10_000, `${s.name} to forward`);
  return subjects;
}

export async function runThroughput(tools: SystemTools, quick: boolean, report: Report): Promise<void> {
  if (tools.nginx === undefined || tools.wrk === undefined) return report.skip(SECTION, `needs nginx and wrk: ${tools.problem ?? "missing"}`);
  const seconds = quick ? 3 : 8;
  const warmupSeconds = 1;
  const connectionCounts = [50, 200];
  console.log(`\n== 1. throughput per core: wrk -t1, ${seconds} s per run after a ${warmupSeconds} s warm-up, tiny responses from a static nginx upstream`);
  console.log("   2 cores are shared by wrk, the proxy under test and the upstream nginx: absolute req/s are what is left for the proxy.");
  const cleanup = new Cleanup();
  const results: Measurement[] = [];
  try {
    const subjects = await startSubjects({ nginx: tools.nginx }, cleanup);
    for (const connections of connectionCounts) {
      for (const subject of subjects) results.push(await measure(tools.wrk, subject, connections, seconds, warmupSeconds));
    }
  } finally {
    await cleanup.run();
  }

  const find = (subject: string, connections: number): Measurement | undefined => results.find((m) => m.subject.startsWith(subject) && m.connections === connections);
  printTable(
    "throughput (per core = requests per CPU-second of the proxy process)",
    ["proxy", "conns", "req/s", "p50 ms", "p99 ms", "errors", "proxy CPU %", "CPU us/req", "per core req/s", "req/s vs nginx", "per core vs nginx", "per core vs bare"],
    results.map((m) => {
      const nginx = find("nginx", m.connections);
      const bare = find("bare", m.connections);
      return [
        m.subject, String(m.connections), count(m.wrk.requestsPerSecond), fixed(m.wrk.p50Ms, 2), fixed(m.wrk.p99Ms, 2), count(m.wrk.errors),
        `${fixed((m.cpuSeconds / m.seconds) * 100, 0)}%`, fixed((m.cpuSeconds / m.wrk.requests) * 1e6, 1), count(perCore(m)),
        ratio(m.wrk.requestsPerSecond, nginx?.wrk.requestsPerSecond), ratio(perCore(m), perCore(nginx)), ratio(perCore(m), perCore(bare)),
      ];
    }),
  );

  const ratios = (against: string): number[] => connectionCounts.map((c) => (perCore(find("turnout", c)) ?? 0) / (perCore(find(against, c)) ?? Number.NaN));
  const describe = (values: number[]): string => values.map((v, i) => `${fixed(v, 2)}x @${connectionCounts[i]} conns`).join(", ");
  const vsNginx = ratios("nginx");
  const vsBare = ratios("bare");
  report.check(SECTION, "turnout per-core throughput >= 0.30x nginx (1 worker)", describe(vsNginx), vsNginx.every((v) => v >= 0.3));
  report.check(SECTION, "turnout per-core throughput >= 1.0x bare Node pipe", describe(vsBare), vsBare.every((v) => v >= 1.0));
}

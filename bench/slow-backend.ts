// Section 2, smart routing under a slow backend: three Node upstreams (one answers
// 50 ms late) behind turnout (ewma, least-request, round-robin) and nginx (round
// robin, least_conn), driven at a fixed rate by the open-loop client in its own
// process. Latency counts from each request's scheduled send time.
import { fileURLToPath } from "node:url";
import { cpuSnapshot, othersCores } from "./machine-load.ts";
import { Nginx, reverseProxyConfig } from "./nginx.ts";
import type { NginxBalance } from "./nginx.ts";
import type { OpenLoopResult } from "./open-loop-client.ts";
import { Child, Cleanup, NODE, freePort, httpStatus, waitFor } from "./processes.ts";
import { count, fixed, printTable, ratio } from "./report.ts";
import type { SectionContext } from "./section.ts";
import { TurnoutRunner, gcTotals, removeFolder, singleRouteManifests, writeManifestFolder } from "./turnout-runner.ts";
import type { GcTotals, TurnoutVariant } from "./turnout-runner.ts";

const SECTION = "slow-backend";
const HOST = "slow.bench.local";
const UPSTREAM_HOSTS = ["127.0.0.31", "127.0.0.32", "127.0.0.33"];
const SLOW_HOST = "127.0.0.33";
const SLOW_MS = 50;
const BASELINE_RATE = 1000;
const UPSTREAMS_SCRIPT = fileURLToPath(new URL("./upstream-servers.ts", import.meta.url));
const CLIENT_SCRIPT = fileURLToPath(new URL("./open-loop-client.ts", import.meta.url));

interface Proxy {
  port: number;
  cpuSeconds: () => number;
  /** turnout only: its garbage-collection totals so far. */
  gc?: () => Promise<GcTotals>;
  stop: () => Promise<void>;
}

interface Subject {
  name: string;
  /** Also measured with every upstream fast: this proxy's own latency floor. */
  baseline: boolean;
  start: (upstreamPort: number) => Promise<Proxy>;
}

interface Run {
  subject: string;
  result: OpenLoopResult;
  proxyCpuPercent: number;
  gc: GcTotals | undefined;
  othersCores: number;
}

function nginxSubject(binary: string, balance: NginxBalance): Subject {
  return {
    name: `nginx ${balance}`,
    baseline: balance === "round-robin",
    start: async (upstreamPort) => {
      const port = await freePort();
      const nginx = await Nginx.start(binary, balance, reverseProxyConfig(port, UPSTREAM_HOSTS.map((h) => `${h}:${upstreamPort}`), balance), "127.0.0.1", port);
      return { port, cpuSeconds: () => nginx.cpuSeconds(), stop: () => nginx.stop() };
    },
  };
}

function turnoutSubject(variant: TurnoutVariant, policy: string): Subject {
  return {
    name: `${variant.label} ${policy}`,
    baseline: policy === "round-robin",
    start: async (upstreamPort) => {
      const dir = writeManifestFolder(singleRouteManifests(HOST, UPSTREAM_HOSTS, upstreamPort, { "turnout.dev/load-balance": policy }));
      // The folder stays until turnout stops: turnout watches it, and an emptied folder is an empty cluster.
      const turnout = await TurnoutRunner.start({ manifests: dir, variant }).catch((error: unknown) => {
        removeFolder(dir);
        throw error;
      });
      const stop = async (): Promise<void> => {
        await turnout.stop();
        removeFolder(dir);
      };
      return { port: turnout.httpPort, cpuSeconds: () => turnout.cpuSeconds(), gc: async () => gcTotals(await turnout.metrics()), stop };
    },
  };
}

interface Warmup {
  seconds: number;
  rate: number;
  /** Then this long at the measured rate, unmeasured: the warm-up's extra connections idle out. */
  settleSeconds: number;
}

/**
 * Runs the generator; `onMeasuring` is called when its warm-up ends, so CPU and GC
 * can be read over the measured window only.
 */
async function openLoop(port: number, rate: number, seconds: number, warmup: Warmup, onMeasuring: () => Promise<void>): Promise<OpenLoopResult> {
  const args = [
    CLIENT_SCRIPT, "--port", String(port), "--host-header", HOST, "--rate", String(rate), "--seconds", String(seconds),
    "--warmup-seconds", String(warmup.seconds), "--warmup-rate", String(warmup.rate), "--settle-seconds", String(warmup.settleSeconds),
  ];
  const client = new Child("open-loop client", NODE, args);
  try {
    await client.nextJsonLine((warmup.seconds + warmup.settleSeconds + 15) * 1000);
    await onMeasuring();
    return (await client.nextJsonLine((seconds + 15) * 1000)) as OpenLoopResult;
  } finally {
    await client.stop();
  }
}

export async function runSlowBackend({ tools, quick, report, variants }: SectionContext): Promise<void> {
  const seconds = quick ? 5 : 10;
  // 15,000 requests: past the point where V8 optimises the hot paths of every Node
  // process in the run (generator, upstreams, a Node proxy), so that compilation
  // burst does not land in the measured window. The hundreds of upstream connections
  // that warm-up opens idle out within 5 s (the Node upstreams' keep-alive timeout);
  // closing them all at once stalled turnout for 10-30 ms, in the window.
  const warmup: Warmup = { seconds: 3, rate: 5000, settleSeconds: 6 };
  const rates = quick ? [1000] : [1000, 2000];
  console.log(`\n== 2. smart routing under a slow backend: 3 Node upstreams, ${SLOW_HOST} answers ${SLOW_MS} ms late; open loop at ${rates.join(" and ")} req/s,`);
  console.log(`   ${seconds} s measured after a ${warmup.seconds} s warm-up at ${warmup.rate} req/s and ${warmup.settleSeconds} s at the measured rate; latency from the scheduled send time.`);
  console.log("   2 cores shared by client, proxy and upstreams.");
  console.log(`   "all fast" rows: the same proxy at ${BASELINE_RATE} req/s with no slow upstream, its own latency floor.`);
  const subjects: Subject[] = variants.flatMap((v) => ["ewma", "least-request", "round-robin"].map((policy) => turnoutSubject(v, policy)));
  if (tools.nginx !== undefined) subjects.push(nginxSubject(tools.nginx, "round-robin"), nginxSubject(tools.nginx, "least_conn"));
  else console.log(`   nginx rows skipped: ${tools.problem ?? "nginx missing"}; ratios cannot be computed.`);

  const cleanup = new Cleanup();
  const runs: Run[] = [];
  try {
    const upstreams = new Child("upstream servers", NODE, [UPSTREAMS_SCRIPT, "--hosts", UPSTREAM_HOSTS.join(","), "--slow", SLOW_HOST, "--slow-ms", String(SLOW_MS)]);
    cleanup.add(() => upstreams.stop());
    const upstreamPort = Number((await upstreams.nextJsonLine(10_000) as { port: number }).port);
    const setSlowMs = (ms: number): Promise<number> => httpStatus(upstreamPort, `/__bench/slow-ms/${ms}`, SLOW_HOST);
    for (const subject of subjects) {
      const proxy = await subject.start(upstreamPort);
      const measure = async (label: string, rate: number): Promise<void> => {
        let before = 0;
        let gcBefore: GcTotals | undefined;
        let machineBefore = cpuSnapshot();
        const result = await openLoop(proxy.port, rate, seconds, warmup, async () => {
          before = proxy.cpuSeconds();
          gcBefore = await proxy.gc?.();
          machineBefore = cpuSnapshot();
        });
        const others = othersCores(machineBefore, cpuSnapshot());
        const cpuPercent = ((proxy.cpuSeconds() - before) / seconds) * 100;
        const gcAfter = await proxy.gc?.();
        const gc = gcBefore && gcAfter ? { seconds: gcAfter.seconds - gcBefore.seconds, over10ms: gcAfter.over10ms - gcBefore.over10ms } : undefined;
        runs.push({ subject: label, result, proxyCpuPercent: cpuPercent, gc, othersCores: others });
      };
      try {
        await waitFor(async () => (await httpStatus(proxy.port, "/", "127.0.0.1", { host: HOST })) === 200, 10_000, `${subject.name} to forward`);
        if (subject.baseline) {
          await setSlowMs(0);
          await measure(`${subject.name}, all fast`, BASELINE_RATE).finally(() => setSlowMs(SLOW_MS));
        }
        for (const rate of rates) await measure(subject.name, rate);
      } finally {
        await proxy.stop();
      }
    }
  } finally {
    await cleanup.run();
  }

  const slowShare = (r: OpenLoopResult): number => (r.perUpstream[SLOW_HOST] ?? 0) / Math.max(1, r.completed);
  const reference = (rate: number): OpenLoopResult | undefined => runs.find((r) => r.subject === "nginx round-robin" && r.result.rate === rate)?.result;
  printTable(
    "slow backend (ratios against nginx round-robin at the same rate)",
    ["proxy", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "slow share", "failed", "others' cores", "proxy CPU %", "GC ms/s", "GC pauses >10ms", "client lag p99 ms", "p50 vs nginx rr", "p99 vs nginx rr", "p99.9 vs nginx rr"],
    runs.map(({ subject, result: r, proxyCpuPercent, gc, othersCores: others }) => {
      const ref = reference(r.rate);
      return [
        subject, count(r.rate), fixed(r.p50Ms, 2), fixed(r.p99Ms, 2), fixed(r.p999Ms, 2), fixed(r.maxMs, 1), `${fixed(slowShare(r) * 100, 2)}%`, count(r.failed), fixed(others, 2),
        `${fixed(proxyCpuPercent, 0)}%`, gc ? fixed((gc.seconds * 1000) / seconds, 1) : "-", gc ? count(gc.over10ms) : "-", fixed(r.sendLagP99Ms, 2), ratio(r.p50Ms, ref?.p50Ms), ratio(r.p99Ms, ref?.p99Ms), ratio(r.p999Ms, ref?.p999Ms),
      ];
    }),
  );

  const rr = reference(1000);
  for (const { label } of variants) {
    const ewma = runs.find((r) => r.subject === `${label} ewma` && r.result.rate === 1000)?.result;
    const p99Ratio = ewma && rr ? ewma.p99Ms / rr.p99Ms : undefined;
    report.check(SECTION, `${label} ewma p99 <= 0.2x nginx round robin at 1,000 req/s`, p99Ratio === undefined ? "n/a" : `${fixed(p99Ratio, 2)}x (${fixed(ewma?.p99Ms, 1)} vs ${fixed(rr?.p99Ms, 1)} ms)`, p99Ratio === undefined ? undefined : p99Ratio <= 0.2);
    report.check(SECTION, `${label} ewma share to the slow upstream < 1% at 1,000 req/s`, ewma ? `${fixed(slowShare(ewma) * 100, 2)}%` : "n/a", ewma ? slowShare(ewma) < 0.01 : undefined);
  }
}

// Section 5, multi-core: turnout with --workers 2 against --workers 1 under the same
// wrk load (closed loop, keep-alive, one wrk thread, tiny responses from a static
// nginx upstream). Both processes run side by side and the runs alternate, so drift
// of the shared machine hits both alike; the verdict is the median ratio of rounds.
// Each round also prints the machine's ceiling: the 1-worker run kept `busy` cores
// busy (turnout, wrk and the upstream together), so with every core busy and the
// same CPU per request, 2 workers could serve at most cores / busy times as much.
import { availableParallelism } from "node:os";
import { busyCores, cpuSnapshot, othersCores } from "./machine-load.ts";
import { Cleanup, httpStatus, waitFor } from "./processes.ts";
import { count, fixed, median, medianOfRounds, printTable } from "./report.ts";
import type { SectionContext } from "./section.ts";
import { TurnoutRunner, staticUpstreamRoute } from "./turnout-runner.ts";
import { runWrk } from "./wrk.ts";

const SECTION = "workers";
const HOST = "bench.local";
const UPSTREAM_HOSTS = ["127.0.0.23", "127.0.0.24"];
const CONNECTIONS = 50;
const WORKER_COUNTS = [1, 2] as const;

interface Round {
  round: number;
  requestsPerSecond: Record<number, number>;
  cpuPercent: Record<number, number>;
  /** Cores' worth of CPU the machine used during each run: near 2.0, nothing was left to gain. */
  machineCores: Record<number, number>;
  othersCores: number;
}

export async function runWorkers({ tools, quick, report, variants }: SectionContext): Promise<void> {
  if (tools.nginx === undefined || tools.wrk === undefined) return report.skip(SECTION, `needs nginx and wrk: ${tools.problem ?? "missing"}`);
  const wrk = tools.wrk;
  const seconds = quick ? 3 : 6;
  const warmupSeconds = 1;
  const rounds = quick ? 2 : 4;
  const base = variants[0];
  console.log(`\n== 5. multi-core: --workers 2 vs --workers 1, wrk -t1 -c${CONNECTIONS} keep-alive, ${rounds} alternating rounds of ${seconds} s after a ${warmupSeconds} s warm-up`);
  console.log("   2 cores are shared by wrk, the upstream nginx and turnout's primary and workers: 2 workers can use at most what the others leave.");
  console.log("   \"machine busy\": CPU the whole machine used during each run; at 2.00 cores, 2 workers had nothing left to gain.");
  console.log(`   "ceiling": ${availableParallelism()} cores / machine busy with 1 worker, the most 2 workers can gain when every process keeps its CPU per request.`);
  const cleanup = new Cleanup();
  const results: Round[] = [];
  try {
    const manifests = await staticUpstreamRoute(tools.nginx, UPSTREAM_HOSTS, HOST, cleanup);
    const turnouts = new Map<number, TurnoutRunner>();
    for (const workers of WORKER_COUNTS) {
      const turnout = await TurnoutRunner.start({ manifests, variant: { label: `turnout --workers ${workers}`, env: { ...base?.env, TURNOUT_WORKERS: String(workers) } } });
      cleanup.add(() => turnout.stop());
      await waitFor(async () => (await httpStatus(turnout.httpPort, "/", "127.0.0.1", { host: HOST })) === 200, 10_000, `turnout --workers ${workers} to forward`);
      turnouts.set(workers, turnout);
    }
    for (let round = 1; round <= rounds; round++) {
      const row: Round = { round, requestsPerSecond: {}, cpuPercent: {}, machineCores: {}, othersCores: 0 };
      const machineBefore = cpuSnapshot();
      for (const workers of WORKER_COUNTS) {
        const turnout = turnouts.get(workers) as TurnoutRunner;
        const url = `http://127.0.0.1:${turnout.httpPort}/`;
        await runWrk(wrk, { url, connections: CONNECTIONS, seconds: warmupSeconds, headers: { Host: HOST } });
        const before = turnout.cpuSeconds();
        const runStart = cpuSnapshot();
        const result = await runWrk(wrk, { url, connections: CONNECTIONS, seconds, headers: { Host: HOST } });
        const cpu = turnout.cpuSeconds() - before;
        row.machineCores[workers] = busyCores(runStart, cpuSnapshot());
        row.requestsPerSecond[workers] = result.errors === 0 ? result.requestsPerSecond : Number.NaN;
        row.cpuPercent[workers] = (cpu / seconds) * 100;
      }
      row.othersCores = othersCores(machineBefore, cpuSnapshot());
      results.push(row);
    }
  } finally {
    await cleanup.run();
  }

  const ratios = results.map((r) => (r.requestsPerSecond[2] ?? Number.NaN) / (r.requestsPerSecond[1] ?? Number.NaN));
  const cores = availableParallelism();
  const ceilings = results.map((r) => cores / (r.machineCores[1] ?? Number.NaN));
  printTable(
    "workers (req/s through turnout; CPU % of one core, primary and workers together)",
    ["round", "1 worker req/s", "1 worker CPU %", "2 workers req/s", "2 workers CPU %", "machine busy, 1 / 2 workers", "2 vs 1", "ceiling", "of ceiling", "per CPU-second 2 vs 1", "others' cores"],
    results.map((r, i) => {
      const perCpu = (workers: number): number => (r.requestsPerSecond[workers] ?? Number.NaN) / ((r.cpuPercent[workers] ?? Number.NaN) / 100);
      return [
        String(r.round), count(r.requestsPerSecond[1]), `${fixed(r.cpuPercent[1], 0)}%`, count(r.requestsPerSecond[2]), `${fixed(r.cpuPercent[2], 0)}%`,
        `${fixed(r.machineCores[1], 2)} / ${fixed(r.machineCores[2], 2)} cores`, `${fixed(ratios[i], 2)}x`, `${fixed(ceilings[i], 2)}x`, `${fixed(((ratios[i] ?? Number.NaN) / (ceilings[i] ?? Number.NaN)) * 100, 0)}%`,
        `${fixed(perCpu(2) / perCpu(1), 2)}x`, fixed(r.othersCores, 2),
      ];
    }),
  );
  const middle = median(ratios);
  const measured = `${medianOfRounds(ratios)}; machine ceiling median ${fixed(median(ceilings), 2)}x`;
  report.check(SECTION, "2 workers >= 1.4x 1 worker (req/s, median of rounds)", measured, Number.isFinite(middle) ? middle >= 1.4 : undefined);
}

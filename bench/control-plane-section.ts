// Section 3, control plane: the in-process figures of control-plane.ts (rebuild vs
// one endpoint change, lookup, heap) and the resident memory of a real turnout
// process in file mode with 10,000 Ingresses and 50,000 endpoints, against a
// turnout serving one Ingress as the reference.
import { measureControlPlane } from "./control-plane.ts";
import { sleep, waitFor } from "./processes.ts";
import { count, fixed, printTable, ratio } from "./report.ts";
import type { SectionContext } from "./section.ts";
import type { TurnoutVariant } from "./turnout-runner.ts";
import { DEFAULT_VARIANT, TurnoutRunner, largeClusterManifests, metricSample, removeFolder, singleRouteManifests, writeManifestFolder } from "./turnout-runner.ts";
import type { Manifest } from "../e2e/support/objects.ts";

const SECTION = "control-plane";
const LARGE_INGRESSES = 10_000;
const ENDPOINTS_EACH = 5;

interface MemoryRow {
  label: string;
  ingresses: number;
  endpoints: number;
  readySeconds: number;
  rssMb: number;
  peakMb: number;
  heapUsedMb: number;
}

async function memoryOf(variant: TurnoutVariant, label: string, manifests: Manifest[], ingresses: number, endpoints: number, settleMs: number): Promise<MemoryRow> {
  const dir = writeManifestFolder(manifests, 1500);
  const started = performance.now();
  let turnout: TurnoutRunner | undefined;
  try {
    turnout = await TurnoutRunner.start({ manifests: dir, readyTimeoutMs: 120_000, variant });
    const running = turnout;
    await waitFor(async () => metricSample(await running.metrics(), "turnout_routes") >= ingresses, 30_000, `${ingresses} Ingresses to be served`);
    const readySeconds = (performance.now() - started) / 1000;
    await sleep(settleMs);
    const memory = turnout.memoryMb();
    const heapUsedMb = metricSample(await turnout.metrics(), "nodejs_heap_size_used_bytes") / 1e6;
    return { label, ingresses, endpoints, readySeconds, rssMb: memory.rss, peakMb: memory.peak, heapUsedMb };
  } finally {
    await turnout?.stop();
    removeFolder(dir);
  }
}

export async function runControlPlane({ quick, report, variants }: SectionContext): Promise<void> {
  const variant = variants[0] ?? DEFAULT_VARIANT;
  console.log("\n== 3. control plane: in-process rebuild / endpoint change / lookup (this process), and RSS of a real turnout process");
  const rows = measureControlPlane([10, 1000, 5000, 10000]);
  const smallest = rows[0];
  printTable(
    "control plane (in process; each Ingress has 2 paths and its own Service with 5 endpoints)",
    ["ingresses", "full rebuild ms", "one Ingress edit ms", "endpoint change ms", "change/rebuild", "lookup us", "lookup vs 10", "lookup us, 10 hosts", "10 hosts vs 10", "heap MB"],
    rows.map((r) => [
      count(r.ingresses), fixed(r.rebuildMs, 2), fixed(r.ingressEditMs, 2), fixed(r.endpointChangeMs, 4), (r.endpointChangeMs / r.rebuildMs).toExponential(2),
      fixed(r.lookupUs, 3), ratio(r.lookupUs, smallest?.lookupUs), fixed(r.lookupHotUs, 3), ratio(r.lookupHotUs, smallest?.lookupHotUs), fixed(r.heapMb, 0),
    ]),
  );
  console.log("   lookup: 1,000 requests spread over every host (at most 1,000 distinct); \"10 hosts\": the same requests over 10 hosts,");
  console.log("   so the table grows but the hosts the traffic touches (and their cache lines) do not.");

  const settleMs = quick ? 1000 : 3000;
  const memory: MemoryRow[] = [];
  memory.push(await memoryOf(variant, "reference: 1 Ingress", singleRouteManifests("one.bench.local", ["127.0.0.21"], 8080), 1, 1, settleMs));
  memory.push(await memoryOf(variant, "large", largeClusterManifests(LARGE_INGRESSES, ENDPOINTS_EACH), LARGE_INGRESSES, LARGE_INGRESSES * ENDPOINTS_EACH, settleMs));
  const reference = memory[0];
  printTable(
    `${variant.label} process memory (file mode, RSS ${settleMs / 1000} s after every route is served)`,
    ["config", "ingresses", "endpoints", "start to served s", "RSS MB", "peak RSS MB", "JS heap used MB", "RSS vs 1 Ingress"],
    memory.map((m) => [m.label, count(m.ingresses), count(m.endpoints), fixed(m.readySeconds, 1), fixed(m.rssMb, 0), fixed(m.peakMb, 0), fixed(m.heapUsedMb, 0), ratio(m.rssMb, reference?.rssMb)]),
  );

  const at = (n: number): (typeof rows)[number] | undefined => rows.find((r) => r.ingresses === n);
  const lookupGrowth = (at(10000)?.lookupUs ?? Number.NaN) / (at(10)?.lookupUs ?? Number.NaN);
  report.check(SECTION, "lookup flat within 2x from 10 to 10,000 Ingresses", `${fixed(lookupGrowth, 2)}x`, Number.isFinite(lookupGrowth) ? lookupGrowth <= 2 : undefined);
  const changeShare = (at(5000)?.endpointChangeMs ?? Number.NaN) / (at(5000)?.rebuildMs ?? Number.NaN);
  report.check(SECTION, "endpoint change < 1/100 of a full rebuild at 5,000 Ingresses", `1/${fixed(1 / changeShare, 0)}`, Number.isFinite(changeShare) ? changeShare < 0.01 : undefined);
  const large = memory[1];
  report.check(SECTION, "RSS < 300 MB at 10,000 Ingresses / 50,000 endpoints", `${fixed(large?.rssMb, 0)} MB`, large ? large.rssMb < 300 : undefined);
}

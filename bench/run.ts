// `npm run bench [-- --quick] [-- --only a,b | --skip a,b]`: every benchmark section,
// each bounded in time, printing tables of ratios against references measured in
// the same run, then the targets met / not met. Not-met targets do not fail the run.
import { availableParallelism, cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { runConfigLatency } from "./config-latency.ts";
import { runControlPlane } from "./control-plane-section.ts";
import { Report, errorMessage } from "./report.ts";
import { runSlowBackend } from "./slow-backend.ts";
import { ensureSystemTools } from "./system-tools.ts";
import type { SystemTools } from "./system-tools.ts";
import { runThroughput } from "./throughput.ts";

const SECTIONS = {
  throughput: (tools: SystemTools, quick: boolean, report: Report) => runThroughput(tools, quick, report),
  "slow-backend": (tools: SystemTools, quick: boolean, report: Report) => runSlowBackend(tools, quick, report),
  "control-plane": (_tools: SystemTools, quick: boolean, report: Report) => runControlPlane(quick, report),
  "config-latency": (_tools: SystemTools, quick: boolean, report: Report) => runConfigLatency(quick, report),
} as const;
type SectionName = keyof typeof SECTIONS;
const NAMES = Object.keys(SECTIONS) as SectionName[];
const NEEDS_TOOLS: readonly SectionName[] = ["throughput", "slow-backend"];

const USAGE = `usage: npm run bench [-- --quick] [-- --only SECTIONS | --skip SECTIONS]
  --quick          about two minutes instead of about five: shorter runs, slow-backend at 1,000 req/s only
  --only a,b       run only these sections
  --skip a,b       run every section but these
sections: ${NAMES.join(", ")}`;

function parseSelection(list: string | undefined): SectionName[] {
  if (list === undefined) return [];
  const names = list.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const unknown = names.filter((n) => !(NAMES as string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(", ")}; sections are ${NAMES.join(", ")}`);
  return names as SectionName[];
}

function options(): { quick: boolean; sections: SectionName[] } {
  const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, only: { type: "string" }, skip: { type: "string" }, help: { type: "boolean", default: false } } });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = parseSelection(values.only);
  const skip = parseSelection(values.skip);
  const sections = (only.length > 0 ? only : NAMES).filter((n) => !skip.includes(n));
  return { quick: values.quick, sections: NAMES.filter((n) => sections.includes(n)) };
}

function printHeader(quick: boolean, sections: readonly SectionName[], tools: SystemTools | undefined): void {
  console.log(`turnout benchmarks, ${new Date().toISOString()}${quick ? " (--quick)" : ""}`);
  console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"}), load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`node ${process.version}${tools ? `, ${tools.nginxVersion}, ${tools.wrkVersion}` : ""}; sections: ${sections.join(", ")}`);
  console.log("caveat: the load generator, the proxy and the upstreams share these cores, and the machine is shared with others: absolute");
  console.log("numbers drift by +/-20% between runs; compare the ratios, each against a reference measured in this same run. Loopback only.");
}

async function main(): Promise<void> {
  let selected: { quick: boolean; sections: SectionName[] };
  try {
    selected = options();
  } catch (error) {
    console.error(`${errorMessage(error)}\n${USAGE}`);
    process.exit(2);
  }
  const { quick, sections } = selected;
  const tools = sections.some((s) => NEEDS_TOOLS.includes(s)) ? ensureSystemTools((line) => console.log(line)) : undefined;
  printHeader(quick, sections, tools);
  if (tools?.problem !== undefined) console.log(`nginx/wrk unavailable (${tools.problem}): the throughput section and the nginx rows of slow-backend are skipped.`);
  const report = new Report();
  const started = performance.now();
  let failures = 0;
  for (const section of sections) {
    try {
      await SECTIONS[section](tools ?? { nginx: undefined, wrk: undefined, nginxVersion: "", wrkVersion: "", problem: "not needed" }, quick, report);
    } catch (error) {
      failures += 1;
      report.skip(section, `failed: ${errorMessage(error)}`);
      console.error(error);
    }
  }
  report.printSummary();
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
  process.exitCode = failures > 0 ? 1 : 0;
}

await main();

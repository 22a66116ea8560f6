// `npm run bench [-- --quick] [-- --only a,b | --skip a,b] [-- --turnout-env NAME=v1,v2]`: every benchmark section,
// each bounded in time, printing tables of ratios against references measured in
// the same run, then the targets met / not met. Not-met targets do not fail the run.
import { spawnSync } from "node:child_process";
import { availableParallelism, cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { runConfigLatency } from "./config-latency.ts";
import { runControlPlane } from "./control-plane-section.ts";
import { cpuSnapshot, othersCores } from "./machine-load.ts";
import { Report, errorMessage } from "./report.ts";
import type { SectionContext } from "./section.ts";
import { runSlowBackend } from "./slow-backend.ts";
import { ensureSystemTools } from "./system-tools.ts";
import type { SystemTools } from "./system-tools.ts";
import { runThroughput } from "./throughput.ts";
import { DEFAULT_VARIANT } from "./turnout-runner.ts";
import { runWorkers } from "./workers.ts";
import type { TurnoutVariant } from "./turnout-runner.ts";

const SECTIONS: Record<string, (context: SectionContext) => Promise<void>> = {
  throughput: runThroughput,
  "slow-backend": runSlowBackend,
  "control-plane": runControlPlane,
  "config-latency": runConfigLatency,
  workers: runWorkers,
};
const NAMES = Object.keys(SECTIONS);
const NEEDS_TOOLS = ["throughput", "slow-backend", "workers"];

const USAGE = `usage: npm run bench [-- --quick] [-- --only SECTIONS | --skip SECTIONS] [-- --turnout-env NAME=V1,V2]
  --quick               about 3 minutes instead of about 7 (per turnout variant, more): shorter runs, slow-backend at 1,000 req/s only
  --only a,b            run only these sections
  --skip a,b            run every section but these
  --turnout-env N=a,b   measure turnout once per value of environment variable N (throughput and slow-backend
                        rows per value; the control-plane sections use the first), e.g. TURNOUT_PROXY_ENGINE=undici,http-proxy
sections: ${NAMES.join(", ")}`;

function parseSelection(list: string | undefined): string[] {
  if (list === undefined) return [];
  const names = list.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const unknown = names.filter((n) => !NAMES.includes(n));
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(", ")}; sections are ${NAMES.join(", ")}`);
  return names;
}

function parseVariants(spec: string | undefined): TurnoutVariant[] {
  if (spec === undefined) return [DEFAULT_VARIANT];
  const match = /^([A-Z_][A-Z0-9_]*)=(.+)$/.exec(spec.trim());
  if (!match) throw new Error(`--turnout-env must look like NAME=value1,value2 (got "${spec}")`);
  const [, name = "", values = ""] = match;
  return values.split(",").map((v) => v.trim()).filter((v) => v !== "").map((value) => ({ label: `turnout[${value}]`, env: { [name]: value } }));
}

interface Options {
  quick: boolean;
  sections: string[];
  variants: TurnoutVariant[];
}

function options(): Options {
  const { values } = parseArgs({
    options: { quick: { type: "boolean", default: false }, only: { type: "string" }, skip: { type: "string" }, "turnout-env": { type: "string" }, help: { type: "boolean", default: false } },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = parseSelection(values.only);
  const skip = parseSelection(values.skip);
  const sections = (only.length > 0 ? only : NAMES).filter((n) => !skip.includes(n));
  return { quick: values.quick, sections: NAMES.filter((n) => sections.includes(n)), variants: parseVariants(values["turnout-env"]) };
}

/** The commit measured, and whether the code turnout runs differs from it (read-only git). */
function codeVersion(): string {
  const git = (...args: string[]): string => spawnSync("git", args, { encoding: "utf8", cwd: import.meta.dirname }).stdout?.trim() ?? "";
  const commit = git("rev-parse", "--short", "HEAD");
  if (commit === "") return "not a git checkout";
  const changed = git("status", "--porcelain", "--", "../src", "../cmd").split("\n").filter((l) => l !== "").length;
  return changed > 0 ? `${commit} plus ${changed} uncommitted file changes under src/ and cmd/` : commit;
}

function printHeader({ quick, sections, variants }: Options, tools: SystemTools | undefined): void {
  console.log(`turnout benchmarks, ${new Date().toISOString()}${quick ? " (--quick)" : ""}, code ${codeVersion()}`);
  console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"}), load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`node ${process.version}${tools ? `, ${tools.nginxVersion}, ${tools.wrkVersion}` : ""}; sections: ${sections.join(", ")}`);
  const environment = Object.keys(process.env).filter((k) => k.startsWith("TURNOUT_")).map((k) => `${k}=${process.env[k] ?? ""}`);
  console.log(`turnout: one process (--workers 1) unless a variant sets TURNOUT_WORKERS; ${variants.map((v) => (Object.keys(v.env).length === 0 ? `${v.label} with its defaults` : `${v.label} with ${JSON.stringify(v.env)}`)).join(", ")}; inherited env: ${environment.join(" ") || "no TURNOUT_* variables"}`);
  console.log("caveat: the load generator, the proxy and the upstreams share these cores, and the machine is shared with others: absolute");
  console.log("numbers drift by +/-20% between runs; compare the ratios, each against a reference measured in this same run. Loopback only.");
}

async function main(): Promise<void> {
  let selected: Options;
  try {
    selected = options();
  } catch (error) {
    console.error(`${errorMessage(error)}\n${USAGE}`);
    process.exit(2);
  }
  const { quick, sections, variants } = selected;
  const tools = sections.some((s) => NEEDS_TOOLS.includes(s)) ? ensureSystemTools((line) => console.log(line)) : undefined;
  printHeader(selected, tools);
  if (tools?.problem !== undefined) console.log(`nginx/wrk unavailable (${tools.problem}): the throughput section and the nginx rows of slow-backend are skipped.`);
  const report = new Report();
  const started = performance.now();
  let failures = 0;
  for (const section of sections) {
    const before = cpuSnapshot();
    try {
      const context: SectionContext = { tools: tools ?? { nginx: undefined, wrk: undefined, nginxVersion: "", wrkVersion: "", problem: "not needed" }, quick, report, variants };
      await SECTIONS[section]?.(context);
    } catch (error) {
      failures += 1;
      report.skip(section, `failed: ${errorMessage(error)}`);
      console.error(error);
    }
    const after = cpuSnapshot();
    report.sectionDone(section, (after.at - before.at) / 1000, othersCores(before, after));
  }
  report.printSummary();
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
  process.exitCode = failures > 0 ? 1 : 0;
}

await main();

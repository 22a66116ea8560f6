// Profiles turnout's request path: a static nginx upstream, turnout (one process,
// --cpu-prof) and wrk for a bounded time, then the profile's top self-time frames
// and the inclusive share of named areas (metrics, headers, routing...).
// Usage: node bench/profile-proxy.ts [--seconds 10] [--connections 50] [--out DIR] [--profile FILE]
// (--profile FILE only analyses an existing .cpuprofile.)
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Child, Cleanup, NODE, freePort, httpStatus, waitFor } from "./processes.ts";
import { ensureSystemTools } from "./system-tools.ts";
import { staticUpstreamRoute } from "./turnout-runner.ts";
import { runWrk } from "./wrk.ts";

const HOST = "bench.local";
const UPSTREAM_HOSTS = ["127.0.0.21", "127.0.0.22"];
const ENTRY = fileURLToPath(new URL("../cmd/turnout.ts", import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Inclusive areas: a sample counts for an area when any frame of its stack matches. */
const AREAS: ReadonlyArray<[string, (frame: ProfileNode["callFrame"]) => boolean]> = [
  ["request end: record, publish, metrics", (f) => (f.url.includes("proxy-server") && (f.functionName === "#onClose" || f.functionName === "#publish")) || f.url.includes("/src/observability/")],
  ["metrics (src/observability + prom-client)", (f) => f.url.includes("/src/observability/") || f.url.includes("/prom-client/")],
  ["prom-client", (f) => f.url.includes("/prom-client/")],
  ["diagnostics_channel publish", (f) => f.url.includes("diagnostics_channel") && f.functionName === "publish"],
  ["forward headers", (f) => f.url.includes("/src/proxy/forward-headers")],
  ["routing", (f) => f.url.includes("/src/routing/")],
  ["balancer + picker", (f) => f.url.includes("/src/balancer/") || f.url.includes("backend-picker")],
  ["endpoints (load, registry)", (f) => f.url.includes("/src/endpoints/")],
  ["health (outlier)", (f) => f.url.includes("/src/health/")],
  ["logging", (f) => f.url.includes("logger")],
  ["proxy-server #handle", (f) => f.url.includes("proxy-server") && f.functionName === "#handle"],
  ["undici (all)", (f) => f.url.includes("/undici/") || f.url.includes("node:internal/deps/undici")],
  ["node http server", (f) => f.url.startsWith("node:_http") || f.url.startsWith("node:internal/http")],
  ["garbage collector", (f) => f.functionName === "(garbage collector)"],
];

export function analyse(profile: CpuProfile, top = 30): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === "(idle)" || node.callFrame.functionName === "(program)") {
      if (node.callFrame.functionName === "(idle)") idle += dt;
    }
    if (node.callFrame.functionName === "(idle)") return;
    total += dt;
    const f = node.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(node_modules|src)\//, "$1/")}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const hit = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      for (const [name, test] of AREAS) if (!hit.has(name) && test(frame)) hit.add(name);
    }
    for (const name of hit) areas.set(name, (areas.get(name) ?? 0) + dt);
  });
  const pct = (v: number): string => `${((v / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s`, "", "top self time:"];
  for (const [key, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${key}`);
  lines.push("", "inclusive by area:");
  for (const [name] of AREAS) lines.push(`  ${pct(areas.get(name) ?? 0)}  ${name}`);
  return lines.join("\n");
}

async function profileRun(seconds: number, connections: number, outDir: string): Promise<string> {
  const tools = ensureSystemTools((line) => console.log(line));
  if (tools.nginx === undefined || tools.wrk === undefined) throw new Error("needs nginx and wrk (npm run bench installs them)");
  const cleanup = new Cleanup();
  try {
    const manifests = await staticUpstreamRoute(tools.nginx, UPSTREAM_HOSTS, HOST, cleanup);
    const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const turnout = new Child("turnout", NODE, [
      "--cpu-prof", "--cpu-prof-dir", outDir, "--disable-warning=DEP0060", ENTRY, "--manifests", manifests,
      "--http-port", String(httpPort), "--https-port", String(httpsPort), "--admin-port", String(adminPort),
      "--bind-address", "127.0.0.1", "--log-level", "warn", "--shutdown-delay", "0s", "--shutdown-grace", "1s", "--workers", "1",
    ], { ...process.env, KUBERNETES_SERVICE_HOST: "" });
    cleanup.add(() => turnout.stop());
    await waitFor(async () => (await httpStatus(httpPort, "/", "127.0.0.1", { host: HOST })) === 200, 20_000, "turnout to forward");
    const url = `http://127.0.0.1:${httpPort}/`;
    await runWrk(tools.wrk, { url, connections, seconds: 2, headers: { Host: HOST } });
    const result = await runWrk(tools.wrk, { url, connections, seconds, headers: { Host: HOST } });
    console.log(`wrk: ${result.requests} requests, ${Math.round(result.requestsPerSecond)} req/s, errors ${result.errors}`);
    // A scrape, as Prometheus would make now and then.
    await fetch(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.text());
    await turnout.stop();
  } finally {
    await cleanup.run();
  }
  const file = readdirSync(outDir).find((f) => f.endsWith(".cpuprofile"));
  if (file === undefined) throw new Error(`no .cpuprofile in ${outDir}`);
  return join(outDir, file);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, connections: { type: "string", default: "50" }, out: { type: "string" }, profile: { type: "string" }, top: { type: "string", default: "30" } } });
  const file = values.profile ?? (await profileRun(Number(values.seconds), Number(values.connections), values.out ?? mkdtempSync(join(tmpdir(), "turnout-profile-"))));
  console.log(`profile: ${file}`);
  console.log(analyse(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, Number(values.top)));
}

// The real turnout process under benchmark (node cmd/turnout.ts), in file mode on
// a generated manifest folder or in cluster mode on a kubeconfig: free loopback
// ports, --log-level warn, one process (--workers 1 where turnout has that flag),
// ready when /readyz answers 200. A variant adds environment variables.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Manifest } from "../e2e/support/objects.ts";
import { endpointSlice, ingress, ingressClass, service } from "../e2e/support/objects.ts";
import { Nginx, staticUpstreamConfig } from "./nginx.ts";
import { Child, NODE, freePort, httpStatus, treeCpuSeconds, treeMemoryMb, waitFor } from "./processes.ts";
import type { Cleanup } from "./processes.ts";

const ENTRY = fileURLToPath(new URL("../cmd/turnout.ts", import.meta.url));

/** A turnout configuration to measure: a label for the tables and the environment it adds. */
export interface TurnoutVariant {
  label: string;
  env: Record<string, string>;
}

export const DEFAULT_VARIANT: TurnoutVariant = { label: "turnout", env: {} };

export interface TurnoutStart {
  manifests?: string;
  kubeconfig?: string;
  readyTimeoutMs?: number;
  variant?: TurnoutVariant;
}

let helpText: string | undefined;

/** Whether this checkout's turnout has `flag` (its --help names it). */
function hasFlag(flag: string): boolean {
  helpText ??= spawnSync(NODE, ["--disable-warning=DEP0060", ENTRY, "--help"], { encoding: "utf8", env: { ...process.env, KUBERNETES_SERVICE_HOST: "" } }).stdout ?? "";
  return helpText.includes(flag);
}

export class TurnoutRunner {
  readonly httpPort: number;
  readonly adminPort: number;
  readonly #child: Child;

  private constructor(child: Child, httpPort: number, adminPort: number) {
    this.#child = child;
    this.httpPort = httpPort;
    this.adminPort = adminPort;
  }

  static async start(options: TurnoutStart): Promise<TurnoutRunner> {
    const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const source = options.kubeconfig !== undefined ? ["--kubeconfig", options.kubeconfig] : ["--manifests", options.manifests ?? "examples/manifests"];
    const variant = options.variant ?? DEFAULT_VARIANT;
    // One process, as nginx runs one worker, unless the variant chooses the worker count itself.
    const workers = hasFlag("--workers") && variant.env.TURNOUT_WORKERS === undefined ? ["--workers", "1"] : [];
    const args = [
      "--disable-warning=DEP0060", ENTRY, ...source,
      "--http-port", String(httpPort), "--https-port", String(httpsPort), "--admin-port", String(adminPort),
      "--bind-address", "127.0.0.1", "--log-level", "warn", "--shutdown-delay", "0s", "--shutdown-grace", "1s", ...workers,
    ];
    const child = new Child(variant.label, NODE, args, { ...process.env, KUBERNETES_SERVICE_HOST: "", ...variant.env });
    const turnout = new TurnoutRunner(child, httpPort, adminPort);
    try {
      await waitFor(async () => {
        if (!child.running) throw new Error(`turnout exited: ${child.output}`);
        return (await httpStatus(adminPort, "/readyz")) === 200;
      }, options.readyTimeoutMs ?? 20_000, "turnout /readyz");
    } catch (error) {
      await turnout.stop();
      throw error;
    }
    return turnout;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** CPU seconds of turnout and any worker processes it started. */
  cpuSeconds(): number {
    return treeCpuSeconds(this.#child.pid);
  }

  /** Memory of turnout and any worker processes it started. */
  memoryMb(): { rss: number; peak: number } {
    return treeMemoryMb(this.#child.pid);
  }

  /** The Prometheus text of /metrics. */
  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.adminPort}/metrics`);
    return response.text();
  }

  stop(): Promise<void> {
    return this.#child.stop();
  }
}

/** An unlabelled sample from Prometheus text, 0 when absent. */
export function metricSample(metrics: string, name: string): number {
  return Number(new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(metrics)?.[1] ?? 0);
}

export interface GcTotals {
  /** Seconds spent in garbage collection since the start. */
  seconds: number;
  /** Collections that paused longer than 10 ms. */
  over10ms: number;
}

/** Garbage-collection totals from prom-client's nodejs_gc_duration_seconds histogram, all kinds. */
export function gcTotals(metrics: string): GcTotals {
  const sum = (pattern: RegExp): number => [...metrics.matchAll(pattern)].reduce((total, m) => total + Number(m[1]), 0);
  const count = sum(/^nodejs_gc_duration_seconds_count\{[^}]*\} ([0-9.e+-]+)$/gm);
  const within10ms = sum(/^nodejs_gc_duration_seconds_bucket\{le="0\.01",[^}]*\} ([0-9.e+-]+)$/gm);
  return { seconds: sum(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/gm), over10ms: count - within10ms };
}

/** Writes `manifests` as multi-document YAML files (JSON documents, `---` apart), `perFile` per file. */
export function writeManifestFolder(manifests: readonly Manifest[], perFile = 1000): string {
  const dir = mkdtempSync(join(tmpdir(), "turnout-bench-manifests-"));
  for (let start = 0, file = 0; start < manifests.length; start += perFile, file++) {
    const documents = manifests.slice(start, start + perFile).map((m) => JSON.stringify(m));
    writeFileSync(join(dir, `objects-${String(file).padStart(4, "0")}.yaml`), `${documents.join("\n---\n")}\n`);
  }
  return dir;
}

export function removeFolder(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** One host routed to one Service whose endpoints are `addresses` on `port`; `annotations` on the Ingress. */
/**
 * A static nginx upstream on `addresses` and a manifest folder routing `host` to it,
 * both stopped and removed by `cleanup`. Returns the folder for turnout --manifests.
 */
export async function staticUpstreamRoute(nginxBinary: string, addresses: readonly string[], host: string, cleanup: Cleanup): Promise<string> {
  const port = await freePort(addresses[0]);
  const upstream = await Nginx.start(nginxBinary, "upstream", staticUpstreamConfig(addresses, port), addresses[0] ?? "", port);
  cleanup.add(() => upstream.stop());
  const manifests = writeManifestFolder(singleRouteManifests(host, addresses, port));
  cleanup.add(() => removeFolder(manifests));
  return manifests;
}

export function singleRouteManifests(host: string, addresses: readonly string[], port: number, annotations: Record<string, string> = {}): Manifest[] {
  return [
    ingressClass("turnout", true),
    service("upstream", "bench"),
    endpointSlice("upstream-1", "upstream", port, addresses.map((ip) => ({ ip })), "bench"),
    ingress({ name: "bench", namespace: "bench", host, annotations, paths: [{ path: "/", service: "upstream", port: 80 }] }),
  ];
}

/** `count` Ingresses, each with its own Service and an EndpointSlice of `endpointsEach` loopback addresses. */
export function largeClusterManifests(count: number, endpointsEach: number): Manifest[] {
  const manifests: Manifest[] = [ingressClass("turnout", true)];
  for (let i = 0; i < count; i++) {
    const namespace = `ns${i % 50}`;
    const ips = Array.from({ length: endpointsEach }, (_, e) => ({ ip: `127.${100 + ((i >> 8) & 127)}.${i & 255}.${e + 10}` }));
    manifests.push(
      service(`svc${i}`, namespace),
      endpointSlice(`svc${i}-1`, `svc${i}`, 8080, ips, namespace),
      ingress({ name: `app${i}`, namespace, host: `app${i}.example.com`, paths: [{ path: "/", service: `svc${i}`, port: 80 }, { path: "/api", service: `svc${i}`, port: "http" }] }),
    );
  }
  return manifests;
}

// The real turnout process under benchmark (node cmd/turnout.ts), in file mode on
// a generated manifest folder or in cluster mode on a kubeconfig: free loopback
// ports, --log-level warn, ready when /readyz answers 200.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Manifest } from "../e2e/support/objects.ts";
import { endpointSlice, ingress, ingressClass, service } from "../e2e/support/objects.ts";
import { Child, NODE, cpuSeconds, freePort, httpStatus, memoryMb, waitFor } from "./processes.ts";

const ENTRY = fileURLToPath(new URL("../cmd/turnout.ts", import.meta.url));

export interface TurnoutStart {
  manifests?: string;
  kubeconfig?: string;
  readyTimeoutMs?: number;
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
    const args = [
      "--disable-warning=DEP0060", ENTRY, ...source,
      "--http-port", String(httpPort), "--https-port", String(httpsPort), "--admin-port", String(adminPort),
      "--bind-address", "127.0.0.1", "--log-level", "warn", "--shutdown-delay", "0s", "--shutdown-grace", "1s",
    ];
    const child = new Child("turnout", NODE, args, { ...process.env, KUBERNETES_SERVICE_HOST: "" });
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

  cpuSeconds(): number {
    return cpuSeconds(this.#child.pid);
  }

  memoryMb(): { rss: number; peak: number } {
    return memoryMb(this.#child.pid);
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

// Runs the real turnout process (cmd/turnout.ts) for end-to-end tests: ephemeral
// ports, its JSON log lines captured, readiness awaited, and a small HTTP client
// that sets the Host header as curl -H 'Host: ...' would.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../../cmd/turnout.ts", import.meta.url));

export interface TurnoutOptions {
  kubeconfig?: string;
  manifests?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Resolve start() before /readyz is ready (for tests of the not-ready state). */
  skipReadyWait?: boolean;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type LogLine = Record<string, unknown> & { msg: string; level: string };

export class TurnoutProcess {
  readonly logs: LogLine[] = [];
  httpPort = 0;
  httpsPort = 0;
  adminPort = 0;
  readonly #child: ChildProcess;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #exited: Promise<number | null>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ msg: line, level: "raw" });
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => this.logs.push({ msg: line, level: "stderr" }));
  }

  static async start(options: TurnoutOptions): Promise<TurnoutProcess> {
    const args = ["--http-port", "0", "--https-port", "0", "--admin-port", "0", "--bind-address", "127.0.0.1", "--shutdown-delay", "0s", "--log-level", "debug"];
    if (options.kubeconfig) args.push("--kubeconfig", options.kubeconfig);
    if (options.manifests) args.push("--manifests", options.manifests);
    // One process unless asked: the suites assert per-process behaviour (passive ejection counts, for one).
    if (!(options.args ?? []).some((a) => a === "--workers" || a.startsWith("--workers="))) args.push("--workers", "1");
    args.push(...(options.args ?? []));
    const child = spawn(process.execPath, ["--disable-warning=DEP0060", ENTRY, ...args], {
      env: { ...process.env, KUBERNETES_SERVICE_HOST: "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const turnout = new TurnoutProcess(child);
    const listening = await turnout.waitForLog((l) => l.msg === "listening", 15_000);
    turnout.httpPort = Number(listening.http);
    turnout.httpsPort = Number(listening.https);
    turnout.adminPort = Number(listening.admin);
    // A suite run with TURNOUT_PROXY_ENGINE set must test that engine, not the default.
    const engine = options.env?.TURNOUT_PROXY_ENGINE ?? process.env.TURNOUT_PROXY_ENGINE;
    if (engine && listening.engine !== engine) throw new Error(`turnout runs the ${String(listening.engine)} engine, not ${engine}`);
    if (!options.skipReadyWait) await turnout.waitUntil(async () => (await turnout.admin("/readyz")).status === 200, 15_000, "readyz");
    return turnout;
  }

  /** Waits for a log line matching `predicate` (already logged or future). */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 5000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logs.find(predicate);
      if (line) return line;
      if (this.#child.exitCode !== null) throw new Error(`turnout exited (${this.#child.exitCode}); logs:\n${this.dumpLogs()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line; logs:\n${this.dumpLogs()}`);
      await sleep(20);
    }
  }

  /** Polls `check` until it returns true. */
  async waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; recent logs:\n${this.dumpLogs(30)}`);
      await sleep(25);
    }
  }

  dumpLogs(last = 60): string {
    return this.logs.slice(-last).map((l) => JSON.stringify(l)).join("\n");
  }

  /** A request through turnout's HTTP listener. */
  request(host: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpResult> {
    return httpRequest({
      port: this.httpPort,
      path,
      method: options.method ?? "GET",
      headers: { host, ...options.headers },
      agent: this.#agent,
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
  }

  admin(path: string): Promise<HttpResult> {
    return httpRequest({ port: this.adminPort, path, method: "GET", headers: {}, agent: false });
  }

  async debugRoutes(): Promise<DebugRoutes> {
    return JSON.parse((await this.admin("/debug/routes")).body) as DebugRoutes;
  }

  /** The turnout process (with --workers > 1: the primary). */
  get pid(): number {
    return this.#child.pid ?? 0;
  }

  get exited(): Promise<number | null> {
    return this.#exited;
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async stop(): Promise<void> {
    this.#agent.destroy();
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

export interface DebugRoutes {
  generation: number;
  table: unknown;
  endpoints: Record<string, { address: string; ready: boolean; usable: boolean }[]>;
  diagnostics: { ref: { namespace: string; name: string }; reason: string; message: string }[];
  /** With --workers > 1: what each proxy worker serves. */
  workers?: { worker: number; pid: number; listening: boolean; generation: number }[];
}

/** A log line of an Ingress status write turnout attempted: done, refused as out of date (409), or failed. */
export function isStatusWriteLog(line: LogLine): boolean {
  return (
    line.msg === "ingress status updated" ||
    line.msg.startsWith("could not update ingress status") ||
    line.msg.startsWith("ingress changed since its status write was planned")
  );
}

/** Sends `total` requests, `concurrency` at a time; counts the answers (by upstream, say). */
export async function tally(total: number, concurrency: number, sendOne: (i: number) => Promise<string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const answer = await sendOne(next++);
        counts.set(answer, (counts.get(answer) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

/** Which echo upstream answered (its name), or `status N` when turnout answered itself. */
export function answeredBy(res: HttpResult): string {
  return res.status === 200 ? (JSON.parse(res.body) as { upstream: string }).upstream : `status ${res.status}`;
}

export function httpRequest(options: {
  port: number;
  host?: string;
  path: string;
  method: string;
  /** An array value sends the header once per value. */
  headers: Record<string, string | string[]>;
  agent: http.Agent | false;
  body?: string;
  /** Default 10 s. */
  timeoutMs?: number;
  /** The client's source address (a loopback address other than 127.0.0.1). */
  localAddress?: string;
}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const { localAddress } = options;
    const req = http.request(
      { host: options.host ?? "127.0.0.1", port: options.port, path: options.path, method: options.method, headers: options.headers, agent: options.agent, timeout: options.timeoutMs ?? 10_000, ...(localAddress ? { localAddress } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(options.body);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

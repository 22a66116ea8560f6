// Runs wrk (closed loop, one thread) for a fixed time and parses its summary:
// requests per second, latency percentiles, errors and non-2xx answers.
import { spawn } from "node:child_process";

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers. */
  errors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text: string | undefined): number {
  const match = /^([0-9.]+)(us|ms|s|m)$/.exec(text ?? "");
  return match ? Number(match[1]) * (UNIT_MS[match[2] ?? "ms"] ?? 1) : Number.NaN;
}

export function parseWrkOutput(output: string): WrkResult {
  const rps = /Requests\/sec:\s+([0-9.]+)/.exec(output)?.[1];
  const requests = /([0-9]+) requests in/.exec(output)?.[1];
  if (rps === undefined || requests === undefined) throw new Error(`unexpected wrk output:\n${output}`);
  const percentile = (p: string): number => durationMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(output)?.[1]);
  const socket = /Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+([0-9]+)/.exec(output)?.[1] ?? 0);
  return { requestsPerSecond: Number(rps), requests: Number(requests), p50Ms: percentile("50"), p99Ms: percentile("99"), errors: socketErrors + non2xx };
}

export interface WrkRun {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

export function runWrk(binary: string, run: WrkRun): Promise<WrkResult> {
  const headerArgs = Object.entries(run.headers ?? {}).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
  const args = ["-t1", `-c${run.connections}`, `-d${run.seconds}s`, "--timeout", "2s", "--latency", ...headerArgs, run.url];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    // wrk stops by itself after -d; this is only a guard against a hang.
    const guard = setTimeout(() => child.kill("SIGKILL"), (run.seconds + 10) * 1000);
    child.once("error", reject);
    child.once("exit", () => {
      clearTimeout(guard);
      try {
        resolve(parseWrkOutput(output));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

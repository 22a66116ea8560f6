// Open-loop load generator, run as its own process so it never shares an event
// loop with the proxy: request i is due at start + i/rate whatever happened to
// earlier ones, and its latency counts from that scheduled time (no coordinated
// omission: a late send or a queued socket shows up as latency).
// The warm-up may run at its own rate: Node processes (this one, Node upstreams, a
// Node proxy) compile their hot paths with V8's optimising compiler after some ten
// thousand requests, all at about the same moment, which on 2 shared cores stalls
// everyone for ~0.1 s; a warm-up past that point measures the steady state.
// A fast warm-up leaves hundreds of connections from its queues; they idle out a few
// seconds later (Node upstreams close idle ones after 5 s), a burst of closes that
// would land in the measured window. So the warm-up ends with `--settle-seconds` at
// the measured rate, unmeasured.
// Usage: node bench/open-loop-client.ts --port P --host-header H --rate R --seconds S [--warmup-seconds W] [--warmup-rate R] [--settle-seconds T]
// prints {"phase":"measuring"} when the warm-up ends, then one JSON line (OpenLoopResult), and exits.
import http from "node:http";
import { parseArgs } from "node:util";

export interface OpenLoopResult {
  rate: number;
  /** Requests in the measured window (after the warm-up). */
  measured: number;
  completed: number;
  /** Network errors, timeouts, non-200 answers and requests still unanswered at the end. */
  failed: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** How late the generator itself sent, p99: its own share of the latency. */
  sendLagP99Ms: number;
  /** Answers by `x-upstream` header, measured window only. */
  perUpstream: Record<string, number>;
}

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "host-header": { type: "string", default: "localhost" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
    "warmup-seconds": { type: "string", default: "1" },
    "warmup-rate": { type: "string" },
    "settle-seconds": { type: "string", default: "0" },
    "max-sockets": { type: "string", default: "1024" },
  },
});
const port = Number(values.port);
const rate = Number(values.rate);
const warmupRate = Number(values["warmup-rate"] ?? values.rate);
const warmupMs = Number(values["warmup-seconds"]) * 1000;
const warmupCount = Math.round((warmupRate * warmupMs) / 1000);
/** The first request measured: after the warm-up and the settling at the measured rate. */
const measuredFrom = warmupCount + Math.round(rate * Number(values["settle-seconds"]));
const total = measuredFrom + Math.round(rate * Number(values.seconds));
const TIMEOUT_MS = 5000;

const agent = new http.Agent({ keepAlive: true, maxSockets: Number(values["max-sockets"]), maxFreeSockets: Number(values["max-sockets"]) });
const latencies = new Float64Array(total).fill(Number.NaN);
const lags = new Float64Array(total);
const failures = new Uint8Array(total);
const perUpstream: Record<string, number> = {};
let outstanding = 0;
let start = 0;

/** When request i is due, relative to the start. */
function dueMs(i: number): number {
  return i < warmupCount ? (i * 1000) / warmupRate : warmupMs + ((i - warmupCount) * 1000) / rate;
}

function send(i: number): void {
  const scheduled = start + dueMs(i);
  lags[i] = performance.now() - scheduled;
  outstanding += 1;
  let settled = false;
  const settle = (failed: boolean): void => {
    if (settled) return;
    settled = true;
    outstanding -= 1;
    if (failed) failures[i] = 1;
  };
  const req = http.get({ host: "127.0.0.1", port, path: "/", headers: { host: values["host-header"] ?? "localhost" }, agent, timeout: TIMEOUT_MS }, (res) => {
    latencies[i] = performance.now() - scheduled;
    const upstream = String(res.headers["x-upstream"] ?? "none");
    if (i >= measuredFrom) perUpstream[upstream] = (perUpstream[upstream] ?? 0) + 1;
    res.resume();
    res.on("end", () => settle(res.statusCode !== 200));
    res.on("error", () => settle(true));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", () => settle(true));
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

function report(): void {
  const window = latencies.subarray(measuredFrom);
  const answered = window.filter((v) => !Number.isNaN(v)).sort();
  let failed = 0;
  for (let i = measuredFrom; i < total; i++) if (failures[i] === 1 || Number.isNaN(latencies[i])) failed += 1;
  const result: OpenLoopResult = {
    rate,
    measured: window.length,
    completed: answered.length,
    failed,
    p50Ms: percentile(answered, 0.5),
    p99Ms: percentile(answered, 0.99),
    p999Ms: percentile(answered, 0.999),
    maxMs: answered[answered.length - 1] ?? Number.NaN,
    sendLagP99Ms: percentile(lags.subarray(measuredFrom).sort(), 0.99),
    perUpstream,
  };
  console.log(JSON.stringify(result));
  agent.destroy();
  process.exit(0);
}

let announced = false;

function tick(next: number): void {
  const now = performance.now();
  if (!announced && next >= measuredFrom) {
    announced = true;
    console.log(JSON.stringify({ phase: "measuring" }));
  }
  while (next < total && start + dueMs(next) <= now) send(next++);
  if (next < total) {
    setTimeout(() => tick(next), Math.max(0, start + dueMs(next) - performance.now()));
    return;
  }
  // All sent: wait for the stragglers, bounded by the request timeout.
  const deadline = performance.now() + TIMEOUT_MS + 500;
  const drain = (): void => {
    if (outstanding === 0 || performance.now() > deadline) report();
    else setTimeout(drain, 10);
  };
  drain();
}

start = performance.now();
tick(0);

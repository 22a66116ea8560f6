// Child-process plumbing for the benchmarks: free loopback ports, spawning a
// process that prints one JSON ready line, waiting for an HTTP endpoint, and
// reading CPU time and RSS of a process tree from /proc.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { createInterface } from "node:readline";
import { clockTicksPerSecond } from "./system-tools.ts";

export const NODE = process.execPath;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port free on `host` right now (the kernel picks it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A child we started; stop() ends it (SIGTERM, then SIGKILL after 3 s). */
export class Child {
  readonly process: ChildProcess;
  readonly name: string;
  readonly exited: Promise<void>;
  #output = "";
  /** JSON lines of stdout nobody asked for yet, and who waits for the next one. */
  readonly #jsonLines: { value: unknown }[] = [];
  #waiters: ((value: unknown) => void)[] = [];

  constructor(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.name = name;
    this.process = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    this.exited = new Promise((resolve) => this.process.once("exit", () => resolve()));
    this.process.once("error", (error) => (this.#output += `spawn error: ${error.message}\n`));
    // Both streams are always drained (a full pipe would block the child) and their tail kept for errors.
    const keep = (chunk: Buffer): void => void (this.#output = (this.#output + chunk.toString("utf8")).slice(-4000));
    this.process.stdout?.on("data", keep);
    this.process.stderr?.on("data", keep);
    if (this.process.stdout) {
      createInterface({ input: this.process.stdout }).on("line", (line) => {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          return; // not a report line
        }
        const waiter = this.#waiters.shift();
        if (waiter) waiter(value);
        // Bounded: a child that logs JSON (turnout) and is never asked must not grow this.
        else if (this.#jsonLines.push({ value }) > 100) this.#jsonLines.shift();
      });
    }
  }

  get pid(): number {
    return this.process.pid ?? 0;
  }

  /** CPU seconds the child has used so far. */
  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The last few KB of stdout and stderr, for error messages. */
  get output(): string {
    return this.#output;
  }

  /** Resolves with the next stdout line that parses as JSON (lines are queued until asked for). */
  nextJsonLine(timeoutMs: number): Promise<unknown> {
    const queued = this.#jsonLines.shift();
    if (queued !== undefined) return Promise.resolve(queued.value);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(`${this.name} did not report within ${timeoutMs} ms`), timeoutMs);
      const fail = (message: string): void => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`${message}\n${this.output}`));
      };
      const waiter = (value: unknown): void => {
        clearTimeout(timer);
        resolve(value);
      };
      this.#waiters.push(waiter);
      void this.exited.then(() => fail(`${this.name} exited early`));
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** One GET; resolves with the status (0 on a network error). */
export function httpStatus(port: number, path: string, host = "127.0.0.1", headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, headers, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const TICKS = clockTicksPerSecond();

/** CPU seconds (user + system) a process has used, all its threads. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces: ") S ppid ..."; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** The pids of a process's direct children. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

/** CPU seconds of a process and its direct children (an nginx master and its workers). */
export function treeCpuSeconds(pid: number): number {
  return childPids(pid).reduce((sum, child) => sum + cpuSeconds(child), cpuSeconds(pid));
}

/** Resident and peak resident memory of a process and its direct children, in MB (summed). */
export function treeMemoryMb(pid: number): { rss: number; peak: number } {
  return childPids(pid).reduce((sum, child) => {
    const m = memoryMb(child);
    return { rss: sum.rss + m.rss, peak: sum.peak + m.peak };
  }, memoryMb(pid));
}

/** Resident and peak resident memory of a process, in MB (from /proc/<pid>/status). */
export function memoryMb(pid: number): { rss: number; peak: number } {
  let status = "";
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    // the process ended while we looked: it holds no memory
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+([0-9]+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Stop actions run in reverse order of registration, each awaited, none allowed to throw. */
export class Cleanup {
  readonly #actions: (() => Promise<void> | void)[] = [];

  add(action: () => Promise<void> | void): void {
    this.#actions.push(action);
  }

  async run(): Promise<void> {
    for (const action of this.#actions.splice(0).reverse()) {
      try {
        await action();
      } catch {
        // best effort: one failed stop must not leave the others running
      }
    }
  }
}

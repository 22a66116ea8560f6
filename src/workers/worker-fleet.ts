// The primary's proxy workers: forks them (node:cluster, structured-clone IPC),
// sends each a snapshot once it says hello and every broadcast after, tracks what
// they applied, restarts crashed ones with capped backoff, replaces hung ones,
// gathers their metrics for a scrape, and drains them on shutdown.
import cluster from "node:cluster";
import type { Worker } from "node:cluster";
import type { Logger } from "../observability/logger.ts";
import type { MetricsSnapshot } from "../observability/metrics.ts";
import { publishWorkerExit } from "../observability/events.ts";
import { parseWorkerMessage } from "./messages.ts";
import type { PrimaryMessage, SnapshotMessage, WorkerMessage } from "./messages.ts";
import type { ListeningPorts } from "./data-plane.ts";
import { DEFAULT_RESTART_BACKOFF, crashesInARow, restartDelayMs } from "./restart-backoff.ts";
import type { RestartBackoff } from "./restart-backoff.ts";
import { retireMetrics } from "./retired-metrics.ts";

export interface WorkerFleetOptions {
  size: number;
  logger: Logger;
  /** What a worker gets once it listens for messages: everything it needs to serve, as of now. */
  snapshot: () => SnapshotMessage;
  backoff?: RestartBackoff;
  /** How long a scrape waits for a worker's metrics before failing. Default 3 s. */
  metricsTimeoutMs?: number;
  /** A worker that sends nothing for this long, pings included, is killed (and restarted). 0: never. Default 10 s. */
  unresponsiveAfterMs?: number;
}

export interface WorkerStatus {
  /** cluster's worker id: a restarted worker gets a new one. */
  worker: number;
  pid: number;
  listening: boolean;
  /** Generation of the table it serves; 0 before the first. */
  generation: number;
}

interface Slot {
  index: number;
  /** Crashes in a row of this slot's workers. */
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
}

interface Member {
  slot: Slot;
  worker: Worker;
  startedAt: number;
  /** It has said hello and got its snapshot: broadcasts go to it. */
  replicating: boolean;
  listening: boolean;
  /** Generation of the table it serves (the primary's numbering); 0 before the first. */
  generation: number;
  lastMetrics: MetricsSnapshot | undefined;
  /** When it last sent anything (performance.now()). */
  lastHeardAt: number;
  /** The watchdog has killed it (once). */
  killed: boolean;
}

interface MetricsRequest {
  waiting: Set<Member>;
  answers: Map<Member, MetricsSnapshot>;
  settle: (error?: Error) => void;
}

export class WorkerFleet {
  readonly #o: Required<WorkerFleetOptions>;
  readonly #members = new Set<Member>();
  readonly #slots: Slot[];
  readonly #requests = new Map<number, MetricsRequest>();
  #retired: MetricsSnapshot = [];
  #nextRequestId = 1;
  #started: { resolve: (ports: ListeningPorts) => void; reject: (error: Error) => void } | undefined;
  #ports: ListeningPorts | undefined;
  /** Every worker of the first set has served a table: readiness from now on needs one serving worker only. */
  #allServedOnce = false;
  #draining: (() => void) | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(options: WorkerFleetOptions) {
    this.#o = { backoff: DEFAULT_RESTART_BACKOFF, metricsTimeoutMs: 3000, unresponsiveAfterMs: 10_000, ...options };
    this.#slots = Array.from({ length: options.size }, (_, index) => ({ index, crashes: 0, restartTimer: undefined }));
  }

  /** Forks the workers; resolves with the shared ports once one listens, rejects if one dies before any did. */
  start(): Promise<ListeningPorts> {
    // Where workers share a socket (port 0, --no-reuse-port, not Linux) they accept from it
    // themselves unless the operator asks for Node's round-robin (NODE_CLUSTER_SCHED_POLICY=rr):
    // the primary's hand-off serialises new connections and loses the ones it was handing to
    // a worker that dies (docs/design/workers.md).
    if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
    // Structured clone: a RouteTable's Maps and RegExps must survive the trip.
    cluster.setupPrimary({ serialization: "advanced" });
    const { unresponsiveAfterMs } = this.#o;
    if (unresponsiveAfterMs > 0) {
      this.#watchdog = setInterval(() => this.#watch(), Math.max(50, unresponsiveAfterMs / 4));
      this.#watchdog.unref();
    }
    return new Promise((resolve, reject) => {
      this.#started = { resolve, reject };
      for (const slot of this.#slots) this.#fork(slot);
    });
  }

  /** Sends a message to every worker that has its snapshot (the others get the news in theirs). */
  broadcast(message: PrimaryMessage): void {
    for (const member of this.#members) if (member.replicating) this.#send(member, message);
  }

  /** Each live worker, for /debug/routes. */
  status(): WorkerStatus[] {
    return [...this.#members]
      .map((m) => ({ worker: m.worker.id, pid: m.worker.process.pid ?? 0, listening: m.listening, generation: m.generation }))
      .sort((a, b) => a.worker - b.worker);
  }

  /** Why the proxy is not ready yet, if it is not. */
  notReadyReason(): string | undefined {
    const serving = this.#serving();
    if (!this.#allServedOnce) return `waiting for proxy workers to apply the route table (${serving} of ${this.#o.size} ready)`;
    return serving === 0 ? "no proxy worker is serving" : undefined;
  }

  /** The workers' metrics for one scrape, plus the totals of workers that exited. Fails if one does not answer in time. */
  collectMetrics(): Promise<MetricsSnapshot[]> {
    const asked = [...this.#members].filter((m) => m.replicating && m.worker.isConnected());
    const id = this.#nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const late = [...request.waiting].map((m) => m.worker.id).join(", ");
        request.settle(new Error(`proxy worker ${late} sent no metrics within ${this.#o.metricsTimeoutMs} ms`));
      }, this.#o.metricsTimeoutMs);
      const request: MetricsRequest = {
        waiting: new Set(asked),
        answers: new Map(),
        settle: (error) => {
          clearTimeout(timer);
          this.#requests.delete(id);
          if (error) return reject(error);
          const live = asked.map((m) => request.answers.get(m)).filter((s) => s !== undefined);
          resolve(this.#retired.length > 0 ? [...live, this.#retired] : live);
        },
      };
      this.#requests.set(id, request);
      for (const member of asked) this.#send(member, { type: "metrics-request", id });
      if (asked.length === 0) request.settle();
    });
  }

  /** Tells every worker to drain (stop accepting, finish in-flight requests); resolves when all exited. */
  drain(graceMs: number): Promise<void> {
    for (const slot of this.#slots) clearTimeout(slot.restartTimer);
    clearInterval(this.#watchdog);
    return new Promise((resolve) => {
      const backstop = setTimeout(() => {
        for (const member of this.#members) {
          this.#o.logger.warn("proxy worker did not exit after draining; killing it", { worker: member.worker.id, pid: member.worker.process.pid });
          member.worker.process.kill("SIGKILL");
        }
      }, graceMs + 5000);
      this.#draining = () => {
        if (this.#members.size > 0) return;
        clearTimeout(backstop);
        resolve();
      };
      for (const member of this.#members) this.#send(member, { type: "drain", graceMs });
      this.#draining();
    });
  }

  #serving(): number {
    let serving = 0;
    for (const member of this.#members) if (member.listening && member.generation > 0) serving += 1;
    return serving;
  }

  #fork(slot: Slot): void {
    slot.restartTimer = undefined;
    const worker = cluster.fork();
    const now = performance.now();
    const member: Member = { slot, worker, startedAt: now, replicating: false, listening: false, generation: 0, lastMetrics: undefined, lastHeardAt: now, killed: false };
    this.#members.add(member);
    this.#o.logger.debug("proxy worker started", { worker: worker.id, pid: worker.process.pid, slot: slot.index });
    worker.on("message", (raw: unknown) => {
      member.lastHeardAt = performance.now();
      const parsed = parseWorkerMessage(raw);
      if (parsed.ok) this.#onMessage(member, parsed.message);
      else this.#o.logger.warn("ignored a message from a proxy worker", { worker: worker.id, error: parsed.error });
    });
    // Sends to a worker that just died fail here; its exit is handled below.
    worker.on("error", (error: Error) => this.#o.logger.debug("proxy worker channel error", { worker: worker.id, error }));
    worker.on("exit", (code: number | null, signal: string | null) => this.#onExit(member, code, signal));
  }

  #onMessage(member: Member, message: WorkerMessage): void {
    switch (message.type) {
      case "hello":
        if (this.#draining) return this.#send(member, { type: "drain", graceMs: 0 });
        this.#send(member, this.#o.snapshot());
        member.replicating = true;
        return;
      case "applied":
        member.generation = message.generation;
        return this.#noteServing();
      case "resync": {
        const { published } = this.#o.snapshot();
        if (published) this.#send(member, { type: "table", ...published });
        return;
      }
      case "listening":
        member.listening = true;
        this.#ports ??= { http: message.http, https: message.https };
        this.#started?.resolve(this.#ports);
        this.#started = undefined;
        return this.#noteServing();
      case "pong":
        return;
      case "metrics": {
        member.lastMetrics = message.metrics;
        const request = this.#requests.get(message.id);
        if (!request?.waiting.delete(member)) return;
        request.answers.set(member, message.metrics);
        if (request.waiting.size === 0) request.settle();
        return;
      }
    }
  }

  /**
   * Pings every worker and kills those silent too long. A worker with a blocked event
   * loop (an endless loop, SIGSTOP) keeps its listening socket, and the kernel keeps
   * dealing it connections that nobody answers. Workers are watched from their hello on:
   * before it they do not listen, so they take no traffic.
   */
  #watch(): void {
    const now = performance.now();
    for (const member of this.#members) {
      if (!member.replicating || member.killed) continue;
      const silentForMs = now - member.lastHeardAt;
      if (silentForMs <= this.#o.unresponsiveAfterMs) {
        this.#send(member, { type: "ping" });
        continue;
      }
      member.killed = true;
      this.#o.logger.error("proxy worker unresponsive; killing it so that it is restarted", {
        worker: member.worker.id,
        pid: member.worker.process.pid,
        silentForMs: Math.round(silentForMs),
      });
      member.worker.process.kill("SIGKILL");
    }
  }

  #noteServing(): void {
    if (!this.#allServedOnce && this.#serving() >= this.#o.size) this.#allServedOnce = true;
  }

  #onExit(member: Member, code: number | null, signal: string | null): void {
    this.#members.delete(member);
    if (member.lastMetrics) this.#retired = retireMetrics(this.#retired, member.lastMetrics);
    for (const request of this.#requests.values()) {
      // Its counters up to the last scrape are in the retired totals; later ones died with it.
      if (request.waiting.delete(member) && request.waiting.size === 0) request.settle();
    }
    const { worker, slot } = member;
    if (this.#draining) {
      this.#o.logger.debug("proxy worker stopped", { worker: worker.id, code, signal });
      return this.#draining();
    }
    if (this.#started && ![...this.#members].some((m) => m.listening)) {
      this.#started.reject(new Error(`proxy worker ${worker.id} exited during start-up (${signal ?? `code ${code}`})`));
      this.#started = undefined;
      return;
    }
    publishWorkerExit({ pid: worker.process.pid, code, signal });
    slot.crashes = crashesInARow(slot.crashes, performance.now() - member.startedAt, this.#o.backoff);
    const delayMs = restartDelayMs(slot.crashes, this.#o.backoff);
    this.#o.logger.error("proxy worker exited unexpectedly; restarting it", {
      worker: worker.id,
      pid: worker.process.pid,
      code,
      signal,
      crashesInARow: slot.crashes,
      restartInMs: delayMs,
    });
    slot.restartTimer = setTimeout(() => this.#fork(slot), delayMs);
  }

  #send(member: Member, message: PrimaryMessage): void {
    if (!member.worker.isConnected()) return;
    member.worker.send(message, (error: Error | null) => {
      if (error) this.#o.logger.debug("could not send to a proxy worker", { worker: member.worker.id, type: message.type, error });
    });
  }
}

// ActiveHealthChecker: one probing session per endpoint address, however many
// routes check it. Consecutive failures set the registry's failedActiveCheck
// flag; consecutive successes clear it. update() is level-triggered.
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { Logger } from "../observability/logger.ts";
import { httpProbe } from "./http-probe.ts";
import type { ProbeResult } from "./http-probe.ts";
import { firstProbeDelayMs, nextProbeDelayMs } from "./probe-schedule.ts";
import { preferTarget } from "./targets.ts";
import type { HealthCheckTarget } from "./targets.ts";

/** Runs `callback` after `delayMs`; returns a function that cancels it. */
export type ProbeScheduler = (callback: () => void, delayMs: number) => () => void;

export interface ActiveHealthCheckerOptions {
  registry: EndpointRegistry;
  logger?: Logger;
  /** Uniform in [0, 1), for jitter. Default Math.random. */
  random?: () => number;
  /** Default: an unref'd setTimeout, so probes never keep the process alive. */
  schedule?: ProbeScheduler;
}

export interface HealthTransition {
  address: string;
  backendKey: string;
  /** False: the endpoint now fails its active check; true: it passes again. */
  healthy: boolean;
  /** Probes in a row that led to the transition. */
  consecutive: number;
  /** Why the last probe failed (for `healthy: false`). */
  reason?: string;
}

/** A session's state, for /debug and tests. */
export interface SessionInfo {
  address: string;
  backendKey: string;
  failing: boolean;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  intervalMs: number;
}

interface Session {
  target: HealthCheckTarget;
  failing: boolean;
  successes: number;
  failures: number;
  cancelTimer: (() => void) | undefined;
  inFlight: AbortController | undefined;
  stopped: boolean;
}

function realScheduler(callback: () => void, delayMs: number): () => void {
  const timer = setTimeout(callback, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
}

/** Pure. One target per address; duplicates resolved by `preferTarget`. */
export function dedupeTargets(targets: readonly HealthCheckTarget[]): Map<string, HealthCheckTarget> {
  const byAddress = new Map<string, HealthCheckTarget>();
  for (const target of targets) {
    const current = byAddress.get(target.address);
    if (!current || preferTarget(target, current)) byAddress.set(target.address, target);
  }
  return byAddress;
}

export class ActiveHealthChecker {
  readonly #registry: EndpointRegistry;
  readonly #logger: Logger | undefined;
  readonly #random: () => number;
  readonly #schedule: ProbeScheduler;
  readonly #sessions = new Map<string, Session>();
  readonly #listeners: ((transition: HealthTransition) => void)[] = [];
  #probes = 0;
  #failedProbes = 0;

  constructor(options: ActiveHealthCheckerOptions) {
    this.#registry = options.registry;
    this.#logger = options.logger;
    this.#random = options.random ?? Math.random;
    this.#schedule = options.schedule ?? realScheduler;
  }

  onTransition(listener: (transition: HealthTransition) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * The full desired list (see healthCheckTargets). Starts sessions for new
   * addresses (healthy until proven otherwise), retunes existing ones from their
   * next probe on, and stops the rest, clearing their flag: an endpoint nobody
   * checks any more must not stay excluded.
   */
  update(targets: readonly HealthCheckTarget[]): void {
    const desired = dedupeTargets(targets);
    for (const [address, session] of this.#sessions) {
      if (desired.has(address)) continue;
      this.#stopSession(session);
      this.#sessions.delete(address);
      this.#registry.setFailedActiveCheck(address, false);
    }
    for (const [address, target] of desired) {
      const existing = this.#sessions.get(address);
      if (existing) {
        const sooner = target.intervalMs < existing.target.intervalMs;
        existing.target = target;
        // A shorter interval (an edited annotation, a second route with tighter settings) starts
        // now, not after the probe the longer one scheduled, up to a whole old interval away.
        if (sooner && existing.cancelTimer) {
          existing.cancelTimer();
          existing.cancelTimer = this.#schedule(() => this.#probe(existing), firstProbeDelayMs(target.intervalMs, this.#random));
        }
        continue;
      }
      const session: Session = {
        target,
        // A flag left from an earlier session (same address, checked again) stands until probes clear it.
        failing: this.#registry.health(address)?.failedActiveCheck === true,
        successes: 0,
        failures: 0,
        cancelTimer: undefined,
        inFlight: undefined,
        stopped: false,
      };
      this.#sessions.set(address, session);
      session.cancelTimer = this.#schedule(() => this.#probe(session), firstProbeDelayMs(target.intervalMs, this.#random));
    }
  }

  /** Stops every session and aborts probes in flight (shutdown). Flags are left as they are. */
  stop(): void {
    for (const session of this.#sessions.values()) this.#stopSession(session);
    this.#sessions.clear();
  }

  sessions(): SessionInfo[] {
    return [...this.#sessions.values()]
      .map((s) => ({
        address: s.target.address,
        backendKey: s.target.backendKey,
        failing: s.failing,
        consecutiveSuccesses: s.successes,
        consecutiveFailures: s.failures,
        intervalMs: s.target.intervalMs,
      }))
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** Counters for metrics. */
  stats(): { probesTotal: number; probeFailuresTotal: number } {
    return { probesTotal: this.#probes, probeFailuresTotal: this.#failedProbes };
  }

  #stopSession(session: Session): void {
    session.stopped = true;
    session.cancelTimer?.();
    session.cancelTimer = undefined;
    session.inFlight?.abort();
    session.inFlight = undefined;
  }

  #probe(session: Session): void {
    session.cancelTimer = undefined;
    if (session.stopped) return;
    const { target } = session;
    const controller = new AbortController();
    session.inFlight = controller;
    void httpProbe({
      ip: target.ip,
      port: target.port,
      path: target.path,
      host: target.hostHeader ?? target.address,
      timeoutMs: target.timeoutMs,
      signal: controller.signal,
    }).then((result) => {
      if (session.stopped) return;
      session.inFlight = undefined;
      this.#record(session, result);
      session.cancelTimer = this.#schedule(() => this.#probe(session), nextProbeDelayMs(session.target.intervalMs, this.#random));
    });
  }

  #record(session: Session, result: ProbeResult): void {
    const { target } = session;
    this.#probes += 1;
    if (result.ok) {
      session.successes += 1;
      session.failures = 0;
      if (session.failing && session.successes >= target.healthyThreshold) {
        session.failing = false;
        this.#registry.setFailedActiveCheck(target.address, false);
        this.#logger?.info("endpoint passed active health check again", { endpoint: target.address, backend: target.backendKey });
        this.#emit({ address: target.address, backendKey: target.backendKey, healthy: true, consecutive: session.successes });
      }
      return;
    }
    this.#failedProbes += 1;
    session.failures += 1;
    session.successes = 0;
    if (!session.failing && session.failures >= target.unhealthyThreshold) {
      session.failing = true;
      this.#registry.setFailedActiveCheck(target.address, true);
      this.#logger?.warn("endpoint failed active health check", {
        endpoint: target.address,
        backend: target.backendKey,
        reason: result.reason,
        consecutiveFailures: session.failures,
      });
      this.#emit({ address: target.address, backendKey: target.backendKey, healthy: false, consecutive: session.failures, reason: result.reason });
    }
  }

  #emit(transition: HealthTransition): void {
    for (const listener of this.#listeners) listener(transition);
  }
}

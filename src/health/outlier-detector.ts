// OutlierDetector: passive health. The proxy reports every upstream attempt;
// an endpoint failing `maxFails` times in a row is ejected for a time that grows
// with repeat ejections, never more than half of a backend's endpoints at once.
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { Logger } from "../observability/logger.ts";
import type { BackendRef } from "../routing/route-table.ts";

/** How one upstream attempt ended, as the proxy classifies it. */
export type AttemptOutcome = "success" | "connect-failure" | "reset" | "timeout" | "5xx";

/** The parts of a BackendPolicy the detector reads (a whole BackendPolicy fits). */
export interface OutlierPolicy {
  maxFails: number;
  failOn5xx: boolean;
}

export interface EjectionEvent {
  address: string;
  backendKey: string;
  /** Ejections of this address so far, after decay, including this one. */
  ejections: number;
  durationMs: number;
  until: number;
}

export interface EjectionSkippedEvent {
  address: string;
  backendKey: string;
  /** Endpoints of the backend ejected already, and how many may be at once. */
  ejected: number;
  maxEjected: number;
}

/** Hooks for metrics; every method is optional. */
export interface OutlierListener {
  ejected?(event: EjectionEvent): void;
  ejectionSkipped?(event: EjectionSkippedEvent): void;
}

export interface OutlierDetectorOptions {
  /** Holds the ejection flags; its clock is the detector's clock. */
  registry: EndpointRegistry;
  logger?: Logger;
  /** First ejection time, multiplied by the ejection count. Default 30 s. */
  baseEjectionMs?: number;
  /** Cap on one ejection. Default 5 min. */
  maxEjectionMs?: number;
  /** Share of a backend's candidates that may be ejected at once, rounded down. Default 0.5. */
  maxEjectedFraction?: number;
}

export const DEFAULT_BASE_EJECTION_MS = 30_000;
export const DEFAULT_MAX_EJECTION_MS = 300_000;
export const DEFAULT_MAX_EJECTED_FRACTION = 0.5;

interface OutlierState {
  consecutiveFailures: number;
  ejections: number;
  /** Uneventful time (not ejected) counts from here; one ejection is forgiven per base time. */
  decayFrom: number;
}

/** Pure. Ejection time for the n-th ejection: base x n, capped. */
export function ejectionDurationMs(ejections: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * Math.max(1, ejections), maxMs);
}

/** Pure. How many of `candidates` endpoints may be ejected at once (with one, none: panic mode would send it traffic anyway). */
export function maxEjected(candidates: number, fraction: number): number {
  return Math.floor(candidates * fraction);
}

function countsAsFailure(outcome: AttemptOutcome, policy: OutlierPolicy): boolean {
  if (outcome === "success") return false;
  // Without fail-on-5xx an error status still proves the endpoint is up and answering.
  if (outcome === "5xx") return policy.failOn5xx;
  return true;
}

export class OutlierDetector {
  readonly #registry: EndpointRegistry;
  readonly #logger: Logger | undefined;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #fraction: number;
  readonly #state = new Map<string, OutlierState>();
  readonly #listeners: OutlierListener[] = [];
  #ejectionsTotal = 0;
  #skippedTotal = 0;

  constructor(options: OutlierDetectorOptions) {
    this.#registry = options.registry;
    this.#logger = options.logger;
    this.#baseMs = options.baseEjectionMs ?? DEFAULT_BASE_EJECTION_MS;
    this.#maxMs = options.maxEjectionMs ?? DEFAULT_MAX_EJECTION_MS;
    this.#fraction = options.maxEjectedFraction ?? DEFAULT_MAX_EJECTED_FRACTION;
    // Counters of endpoints that left every slice must not outlive them.
    this.#registry.onChange((_service, removed) => {
      for (const address of removed) this.#state.delete(address);
    });
  }

  addListener(listener: OutlierListener): void {
    this.#listeners.push(listener);
  }

  /** Counters for metrics. */
  stats(): { ejectionsTotal: number; ejectionsSkippedTotal: number } {
    return { ejectionsTotal: this.#ejectionsTotal, ejectionsSkippedTotal: this.#skippedTotal };
  }

  /** The proxy calls this after every upstream attempt to `address` for `backend`. */
  report(address: string, backend: BackendRef, outcome: AttemptOutcome, policy: OutlierPolicy): void {
    if (!countsAsFailure(outcome, policy)) {
      const state = this.#state.get(address);
      if (state === undefined) return;
      state.consecutiveFailures = 0;
      if (state.ejections === 0) this.#state.delete(address);
      return;
    }
    // Failures while ejected (requests already in flight, panic traffic) do not extend the ejection;
    // those of an endpoint that left every slice start no streak a new pod with its IP would inherit.
    if (this.#registry.isEjected(address) || !this.#registry.isKnown(address)) return;
    let state = this.#state.get(address);
    if (state === undefined) {
      state = { consecutiveFailures: 0, ejections: 0, decayFrom: 0 };
      this.#state.set(address, state);
    }
    state.consecutiveFailures += 1;
    if (state.consecutiveFailures < Math.max(1, policy.maxFails)) return;
    this.#tryEject(address, backend, state);
  }

  #tryEject(address: string, backend: BackendRef, state: OutlierState): void {
    const candidates = this.#registry.endpointSet(backend).candidates;
    const allowed = maxEjected(candidates.length, this.#fraction);
    const ejected = candidates.filter((e) => e.address !== address && this.#registry.isEjected(e.address)).length;
    if (ejected >= allowed) {
      // The failure streak stands, so the endpoint is ejected on its next failure once room frees up.
      this.#skippedTotal += 1;
      const event: EjectionSkippedEvent = { address, backendKey: backend.key, ejected, maxEjected: allowed };
      for (const listener of this.#listeners) listener.ejectionSkipped?.(event);
      this.#logger?.debug("outlier not ejected: too many endpoints of the backend ejected already", {
        endpoint: address,
        backend: backend.key,
        ejected,
        maxEjected: allowed,
      });
      return;
    }
    const now = this.#registry.now();
    this.#decay(state, now);
    const ejections = state.ejections + 1;
    const durationMs = ejectionDurationMs(ejections, this.#baseMs, this.#maxMs);
    const until = now + durationMs;
    if (!this.#registry.eject(address, until)) {
      // The endpoint left every slice while the request was in flight.
      this.#state.delete(address);
      return;
    }
    const failures = state.consecutiveFailures;
    state.ejections = ejections;
    state.consecutiveFailures = 0;
    state.decayFrom = until;
    this.#ejectionsTotal += 1;
    const event: EjectionEvent = { address, backendKey: backend.key, ejections, durationMs, until };
    for (const listener of this.#listeners) listener.ejected?.(event);
    this.#logger?.warn("endpoint ejected after consecutive failures", {
      endpoint: address,
      backend: backend.key,
      consecutiveFailures: failures,
      ejections,
      ejectedForMs: durationMs,
    });
  }

  /** Forgives one ejection per base time spent not ejected since the last one ended. */
  #decay(state: OutlierState, now: number): void {
    if (state.ejections === 0 || now <= state.decayFrom) return;
    const periods = Math.floor((now - state.decayFrom) / this.#baseMs);
    if (periods <= 0) return;
    state.ejections = Math.max(0, state.ejections - periods);
    state.decayFrom += periods * this.#baseMs;
  }
}

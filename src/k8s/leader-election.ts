// LeaderElector: elects one replica through a coordination.k8s.io/v1 Lease so that
// only it writes Ingress status. Expiry is judged by this process's own clock.
import { hostname } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { ApiException, CoordinationV1Api, V1MicroTime } from "@kubernetes/client-node";
import type { KubeConfig, V1Lease } from "@kubernetes/client-node";
import { z } from "zod";
import { durationSchema, formatDuration } from "../config/durations.ts";
import type { Logger } from "../observability/logger.ts";

export interface ElectionTimings {
  /** How long a lease stays valid after its holder's last renewal was observed (whole seconds). */
  leaseDurationMs: number;
  /** A leader that could not renew for this long steps down. Shorter than the lease, so it stops before anyone may take over. */
  renewDeadlineMs: number;
  /** Pause between acquire/renew attempts. */
  retryPeriodMs: number;
}

export const DEFAULT_ELECTION_TIMINGS: Readonly<ElectionTimings> = Object.freeze({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });

/** Followers wait up to this fraction of the retry period longer, so candidates do not poll in lockstep. */
const FOLLOWER_JITTER = 0.5;

/** What a Lease's spec says, normalised: an absent or empty holder means the lease is free. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: Date | undefined;
  renewTime: Date | undefined;
  leaseTransitions: number;
}

/** A lease record and when (by our monotonic clock) we first saw it with these values. */
export interface Observation {
  record: LeaseRecord;
  resourceVersion: string;
  observedAtMs: number;
}

/** "create": no Lease yet; "acquire": free or expired; "renew": ours; "follow": another holder's, still valid. */
export type Decision = "create" | "acquire" | "renew" | "follow";

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.leaseTransitions === b.leaseTransitions &&
    a.acquireTime?.getTime() === b.acquireTime?.getTime() &&
    a.renewTime?.getTime() === b.renewTime?.getTime()
  );
}

/**
 * Pure: the observation after reading `record`. The clock restarts only when the record
 * changed, so a remote renewTime that lies (skewed clocks) never shortens or stretches a lease.
 */
export function observe(previous: Observation | undefined, record: LeaseRecord, resourceVersion: string, nowMs: number): Observation {
  if (previous && sameRecord(previous.record, record)) return { ...previous, resourceVersion };
  return { record, resourceVersion, observedAtMs: nowMs };
}

/** Pure: what a candidate named `self` does about the lease it observed (undefined: there is none). */
export function decide(observed: Observation | undefined, nowMs: number, self: string, timings: Pick<ElectionTimings, "leaseDurationMs">): Decision {
  if (!observed) return "create";
  const { record } = observed;
  if (record.holderIdentity === self) return "renew";
  if (record.holderIdentity === "") return "acquire";
  // The holder's declared duration counts; ours only when it declared none.
  const durationMs = record.leaseDurationSeconds > 0 ? record.leaseDurationSeconds * 1000 : timings.leaseDurationMs;
  return nowMs - observed.observedAtMs >= durationMs ? "acquire" : "follow";
}

/** Pure: the record `self` writes for `decision` (not "follow"). */
export function nextRecord(decision: Exclude<Decision, "follow">, previous: LeaseRecord | undefined, self: string, wallNow: Date, leaseDurationMs: number): LeaseRecord {
  const keep = decision === "renew" && previous !== undefined && previous.holderIdentity === self;
  return {
    holderIdentity: self,
    leaseDurationSeconds: Math.max(1, Math.round(leaseDurationMs / 1000)),
    acquireTime: keep ? (previous.acquireTime ?? wallNow) : wallNow,
    renewTime: wallNow,
    leaseTransitions: previous === undefined ? 0 : keep ? previous.leaseTransitions : previous.leaseTransitions + 1,
  };
}

/** Pure: the record a leader leaves on shutdown; a free holder lets a candidate take over at once. */
export function releasedRecord(previous: LeaseRecord, wallNow: Date): LeaseRecord {
  return { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: wallNow, renewTime: wallNow, leaseTransitions: previous.leaseTransitions };
}

// client-node hands MicroTime fields back as strings and other times as Dates; accept both.
const timestamp = z
  .union([z.date(), z.string()])
  .transform((value) => (value instanceof Date ? value : new Date(value)))
  .refine((date) => !Number.isNaN(date.getTime()))
  .optional()
  .catch(undefined);

// A field of the wrong type counts as absent: the API server validates Leases, this only keeps bad input from crashing us.
const leaseSpecSchema = z.object({
  holderIdentity: z.string().nullish().catch(undefined).transform((v) => v ?? ""),
  leaseDurationSeconds: z.number().int().nullish().catch(undefined).transform((v) => v ?? 0),
  acquireTime: timestamp,
  renewTime: timestamp,
  leaseTransitions: z.number().int().nullish().catch(undefined).transform((v) => v ?? 0),
});

export function parseLeaseRecord(spec: unknown): LeaseRecord {
  const parsed = leaseSpecSchema.parse(typeof spec === "object" && spec !== null ? spec : {});
  return { ...parsed, acquireTime: parsed.acquireTime, renewTime: parsed.renewTime };
}

/** The Lease calls the elector makes. "conflict": someone else wrote first (409). */
export interface LeaseClient {
  read(): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease | "conflict">;
  replace(lease: V1Lease): Promise<V1Lease | "conflict">;
}

function hasCode(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

export function leaseClientFor(kubeConfig: KubeConfig, namespace: string, name: string): LeaseClient {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  const conflictAsValue = (error: unknown): "conflict" => {
    if (hasCode(error, 409)) return "conflict";
    throw error;
  };
  return {
    read: () => api.readNamespacedLease({ namespace, name }).catch((error: unknown) => {
      if (hasCode(error, 404)) return undefined;
      throw error;
    }),
    create: (body) => api.createNamespacedLease({ namespace, body }).catch(conflictAsValue),
    replace: (body) => api.replaceNamespacedLease({ namespace, name, body }).catch(conflictAsValue),
  };
}

export interface LeaderCallbacks {
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  /** Called whenever the observed holder changes to a (non-empty) identity, ours included. */
  onNewLeader?: (identity: string) => void;
}

export interface LeaderElectorOptions extends LeaderCallbacks {
  /** Lease name (--election-id). */
  name: string;
  namespace: string;
  identity: string;
  logger: Logger;
  /** Either a kubeconfig or a LeaseClient (tests). */
  kubeConfig?: KubeConfig;
  client?: LeaseClient;
  timings?: Partial<ElectionTimings>;
  /** Monotonic milliseconds; decisions use only this clock. */
  now?: () => number;
  /** Wall clock for the timestamps written into the Lease. */
  wallClock?: () => Date;
  /** Resolves after `ms`, or early when `signal` aborts; never rejects. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

const TIMED_OUT = Symbol("timed out");

async function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    // Aborted: wake up early.
  }
}

export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #client: LeaseClient;
  readonly #timings: ElectionTimings;
  readonly #now: () => number;
  readonly #wallClock: () => Date;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #stop = new AbortController();
  readonly #logger: Logger;
  #observation: Observation | undefined;
  #leader = false;
  #lastRenewMs = 0;
  #reportedLeader = "";
  #loop: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
    if (options.client) this.#client = options.client;
    else if (options.kubeConfig) this.#client = leaseClientFor(options.kubeConfig, options.namespace, options.name);
    else throw new Error("LeaderElector needs a kubeConfig or a LeaseClient");
    this.#timings = { ...DEFAULT_ELECTION_TIMINGS, ...options.timings };
    this.#now = options.now ?? (() => performance.now());
    this.#wallClock = options.wallClock ?? (() => new Date());
    this.#sleep = options.sleep ?? abortableSleep;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  get identity(): string {
    return this.#o.identity;
  }

  /** Starts campaigning in the background: an attempt now, then one per retry period. */
  start(): void {
    if (this.#loop || this.#stop.signal.aborted) return;
    this.#logger.info("leader election started", { timings: this.#timings });
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const { retryPeriodMs } = this.#timings;
    while (!this.#stop.signal.aborted) {
      await this.tryAcquireOrRenew();
      if (this.#stop.signal.aborted) return;
      // The leader renews on the beat; candidates jitter so they do not collide each round.
      const wait = this.#leader ? retryPeriodMs : retryPeriodMs * (1 + FOLLOWER_JITTER * this.#random());
      await this.#sleep(wait, this.#stop.signal);
    }
  }

  /**
   * One round: read the Lease, then create, acquire or renew it if due. Resolves to whether
   * we lead afterwards. The loop started by start() calls it; call it directly only without start().
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const startedMs = this.#now();
    const lease = await this.#call(() => this.#client.read());
    if (lease === TIMED_OUT || lease instanceof Error) return this.#failed(lease === TIMED_OUT ? "reading the lease timed out" : lease.message);

    const previous = this.#observation;
    if (lease !== undefined) {
      this.#observation = observe(previous, parseLeaseRecord(lease.spec), lease.metadata?.resourceVersion ?? "", this.#now());
      this.#reportLeader(this.#observation.record.holderIdentity);
    } else {
      this.#observation = undefined;
    }
    const observed = this.#observation;
    const decision = decide(observed, this.#now(), this.#o.identity, this.#timings);
    if (decision === "follow") {
      if (this.#leader) this.#stepDown("another replica holds the lease");
      return false;
    }

    const record = nextRecord(decision, observed?.record, this.#o.identity, this.#wallClock(), this.#timings.leaseDurationMs);
    const body = this.#leaseBody(record, observed?.resourceVersion);
    const written = await this.#call(() => (decision === "create" ? this.#client.create(body) : this.#client.replace(body)));
    if (written === TIMED_OUT || written instanceof Error) return this.#failed(written === TIMED_OUT ? "writing the lease timed out" : written.message);
    if (written === "conflict") {
      this.#logger.debug("another replica wrote the lease first", { decision });
      return this.#failed(undefined);
    }
    this.#observation = observe(observed, parseLeaseRecord(written.spec), written.metadata?.resourceVersion ?? "", this.#now());
    this.#lastRenewMs = startedMs;
    this.#reportLeader(this.#o.identity);
    if (!this.#leader) {
      this.#leader = true;
      this.#logger.info("became leader", { decision, leaseTransitions: record.leaseTransitions });
      this.#o.onStartedLeading?.();
    }
    return true;
  }

  /**
   * Stops campaigning. A leader steps down first (onStoppedLeading), then frees the Lease
   * so another replica takes over at its next attempt instead of waiting for expiry.
   */
  async release(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    if (!this.#leader) return;
    const observed = this.#observation;
    this.#stepDown("releasing the lease on shutdown");
    if (observed?.record.holderIdentity !== this.#o.identity) return;
    const released = releasedRecord(observed.record, this.#wallClock());
    const result = await this.#call(() => this.#client.replace(this.#leaseBody(released, observed.resourceVersion)), this.#timings.renewDeadlineMs);
    if (result === TIMED_OUT || result instanceof Error || result === "conflict") {
      const reason = result === TIMED_OUT ? "timed out" : result === "conflict" ? "the lease changed meanwhile" : result.message;
      this.#logger.warn("could not release the lease; others take over after it expires", { reason });
    } else {
      this.#logger.info("released the lease");
    }
  }

  #leaseBody(record: LeaseRecord, resourceVersion: string | undefined): V1Lease {
    const micro = (date: Date | undefined): V1MicroTime | undefined => (date ? new V1MicroTime(date.getTime()) : undefined);
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.#o.name, namespace: this.#o.namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      spec: {
        holderIdentity: record.holderIdentity,
        leaseDurationSeconds: record.leaseDurationSeconds,
        acquireTime: micro(record.acquireTime),
        renewTime: micro(record.renewTime),
        leaseTransitions: record.leaseTransitions,
      },
    };
  }

  /** Runs one API call; an error becomes a value, and a leader's call may not outlast its renew deadline. */
  async #call<T>(fn: () => Promise<T>, budgetMs?: number): Promise<T | Error | typeof TIMED_OUT> {
    const { renewDeadlineMs } = this.#timings;
    const limit = budgetMs ?? (this.#leader ? Math.max(1, this.#lastRenewMs + renewDeadlineMs - this.#now()) : renewDeadlineMs);
    const timer = new AbortController();
    try {
      return await Promise.race([
        Promise.resolve().then(fn).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
        this.#sleep(limit, timer.signal).then((): typeof TIMED_OUT => TIMED_OUT),
      ]);
    } finally {
      timer.abort();
    }
  }

  #failed(reason: string | undefined): false {
    if (reason !== undefined) this.#logger.warn("leader election attempt failed", { reason, leader: this.#leader });
    if (this.#leader && this.#now() - this.#lastRenewMs >= this.#timings.renewDeadlineMs) {
      this.#stepDown(`could not renew the lease within ${formatDuration(this.#timings.renewDeadlineMs)}`);
    }
    return false;
  }

  #stepDown(reason: string): void {
    if (!this.#leader) return;
    this.#leader = false;
    this.#logger.info("stopped leading", { reason });
    this.#o.onStoppedLeading?.();
  }

  #reportLeader(holder: string): void {
    if (holder === "" || holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    this.#logger.info("new leader observed", { leader: holder });
    this.#o.onNewLeader?.(holder);
  }
}

/** Where the elector's settings come from, for cmd/turnout.ts. */
export interface ElectionSettings {
  identity: string;
  namespace: string;
  timings: ElectionTimings;
}

/** For tests only: shorter timings, e.g. "lease=2s,renew=1500ms,retry=300ms". */
export const ELECTION_TIMINGS_ENV = "TURNOUT_ELECTION_TIMINGS";

const TIMING_KEYS = { lease: "leaseDurationMs", renew: "renewDeadlineMs", retry: "retryPeriodMs" } as const;

/** Pure: TURNOUT_ELECTION_TIMINGS text (keys lease, renew, retry; each optional) over the defaults. */
export function parseElectionTimings(text: string | undefined): { ok: true; timings: ElectionTimings } | { ok: false; error: string } {
  const timings: ElectionTimings = { ...DEFAULT_ELECTION_TIMINGS };
  const fail = (detail: string): { ok: false; error: string } => ({ ok: false, error: `${ELECTION_TIMINGS_ENV}=${text ?? ""}: ${detail}` });
  for (const part of (text ?? "").split(",").filter((p) => p.trim() !== "")) {
    const [key = "", value = "", ...rest] = part.trim().split("=");
    if (!Object.hasOwn(TIMING_KEYS, key) || rest.length > 0) return fail(`"${part}" must be lease=DURATION, renew=DURATION or retry=DURATION`);
    const parsed = durationSchema({ maxMs: 600_000 }).safeParse(value);
    if (!parsed.success) return fail(`${key}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    timings[TIMING_KEYS[key as keyof typeof TIMING_KEYS]] = parsed.data;
  }
  if (timings.leaseDurationMs % 1000 !== 0) return fail("lease must be whole seconds (a Lease stores leaseDurationSeconds)");
  if (timings.renewDeadlineMs >= timings.leaseDurationMs) return fail("renew must be shorter than lease, so a leader steps down before others may take over");
  if (timings.retryPeriodMs >= timings.renewDeadlineMs) return fail("retry must be shorter than renew, so a leader gets more than one renewal attempt");
  return { ok: true, timings };
}

/** Identity from POD_NAME (else hostname_pid), namespace from POD_NAMESPACE (else "default"), timings from TURNOUT_ELECTION_TIMINGS. */
export function electionSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  fallbackIdentity: string = `${hostname()}_${process.pid}`,
): { ok: true; settings: ElectionSettings } | { ok: false; error: string } {
  const timings = parseElectionTimings(env[ELECTION_TIMINGS_ENV]);
  if (!timings.ok) return timings;
  const identity = env.POD_NAME !== undefined && env.POD_NAME !== "" ? env.POD_NAME : fallbackIdentity;
  const namespace = env.POD_NAMESPACE !== undefined && env.POD_NAMESPACE !== "" ? env.POD_NAMESPACE : "default";
  return { ok: true, settings: { identity, namespace, timings: timings.timings } };
}

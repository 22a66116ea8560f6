// Leader election: the pure decision rules (table-driven, clock skew included) and the
// elector's rounds against an in-memory Lease with resourceVersion checks and a fake clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Lease } from "@kubernetes/client-node";
import { createLogger } from "../observability/logger.ts";
import {
  DEFAULT_ELECTION_TIMINGS,
  LeaderElector,
  decide,
  electionSettingsFromEnv,
  nextRecord,
  observe,
  parseElectionTimings,
  parseLeaseRecord,
  releasedRecord,
} from "./leader-election.ts";
import type { Decision, LeaseClient, LeaseRecord, Observation } from "./leader-election.ts";

const T0 = new Date("2026-03-01T12:00:00.000Z");
const HOUR = 3_600_000;

function record(fields: Partial<LeaseRecord> = {}): LeaseRecord {
  return { holderIdentity: "other", leaseDurationSeconds: 15, acquireTime: T0, renewTime: T0, leaseTransitions: 2, ...fields };
}

function observed(fields: Partial<LeaseRecord>, observedAtMs: number): Observation {
  return { record: record(fields), resourceVersion: "7", observedAtMs };
}

void describe("decide", () => {
  const cases: [string, Observation | undefined, number, Decision][] = [
    ["no Lease yet: create it", undefined, 0, "create"],
    ["held by self: renew", observed({ holderIdentity: "me" }, 0), 1_000, "renew"],
    ["held by self, unrenewed for ages: still ours to renew", observed({ holderIdentity: "me" }, 0), HOUR, "renew"],
    ["free (released) lease: acquire at once", observed({ holderIdentity: "" }, 0), 1, "acquire"],
    ["held by another, observed 14.999 s ago: follow", observed({}, 1_000), 15_999, "follow"],
    ["held by another, unchanged for its full 15 s: acquire", observed({}, 1_000), 16_000, "acquire"],
    ["the holder's declared duration counts (5 s)", observed({ leaseDurationSeconds: 5 }, 0), 5_000, "acquire"],
    ["declared 5 s, observed 4.9 s ago: follow", observed({ leaseDurationSeconds: 5 }, 0), 4_900, "follow"],
    ["no declared duration: ours (15 s) counts", observed({ leaseDurationSeconds: 0 }, 0), 14_000, "follow"],
    ["remote renewTime an hour ahead does not keep an unchanged lease alive", observed({ renewTime: new Date(T0.getTime() + HOUR) }, 0), 15_000, "acquire"],
    ["remote renewTime an hour behind does not expire a lease seen changing just now", observed({ renewTime: new Date(T0.getTime() - HOUR) }, 10_000), 11_000, "follow"],
  ];
  for (const [name, observation, nowMs, expected] of cases) {
    void it(`${name} -> ${expected}`, () => {
      assert.equal(decide(observation, nowMs, "me", DEFAULT_ELECTION_TIMINGS), expected);
    });
  }
});

void describe("observe", () => {
  void it("keeps the first observation time while the record is unchanged, whatever its renewTime says", () => {
    const skewed = record({ renewTime: new Date(T0.getTime() + HOUR) });
    const first = observe(undefined, skewed, "7", 1_000);
    const again = observe(first, { ...skewed, renewTime: new Date(skewed.renewTime!.getTime()) }, "7", 12_000);
    assert.equal(again.observedAtMs, 1_000);
    assert.equal(decide(again, 16_000, "me", DEFAULT_ELECTION_TIMINGS), "acquire");
  });

  void it("restarts the clock when the holder renews, even with a renewTime in the past", () => {
    const first = observe(undefined, record(), "7", 0);
    const renewed = observe(first, record({ renewTime: new Date(T0.getTime() - HOUR) }), "8", 10_000);
    assert.equal(renewed.observedAtMs, 10_000);
    assert.equal(decide(renewed, 20_000, "me", DEFAULT_ELECTION_TIMINGS), "follow");
    assert.equal(decide(renewed, 25_000, "me", DEFAULT_ELECTION_TIMINGS), "acquire");
  });

  const changes: [string, Partial<LeaseRecord>][] = [
    ["holder", { holderIdentity: "third" }],
    ["transitions", { leaseTransitions: 3 }],
    ["duration", { leaseDurationSeconds: 20 }],
    ["acquireTime", { acquireTime: new Date(T0.getTime() + 1) }],
    ["renewTime", { renewTime: new Date(T0.getTime() + 1) }],
  ];
  for (const [field, change] of changes) {
    void it(`a changed ${field} counts as a change`, () => {
      assert.equal(observe(observe(undefined, record(), "7", 0), record(change), "8", 5).observedAtMs, 5);
    });
  }
});

void describe("nextRecord and releasedRecord", () => {
  const now = new Date(T0.getTime() + 60_000);
  void it("a created Lease starts at zero transitions, acquired and renewed now", () => {
    assert.deepEqual(nextRecord("create", undefined, "me", now, 15_000), { holderIdentity: "me", leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 });
  });
  void it("taking over counts one more transition and a new acquireTime", () => {
    assert.deepEqual(nextRecord("acquire", record(), "me", now, 2_000), { holderIdentity: "me", leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaseTransitions: 3 });
  });
  void it("taking over a released Lease also counts a transition", () => {
    assert.equal(nextRecord("acquire", releasedRecord(record({ leaseTransitions: 4 }), T0), "me", now, 15_000).leaseTransitions, 5);
  });
  void it("renewing keeps acquireTime and transitions", () => {
    assert.deepEqual(nextRecord("renew", record({ holderIdentity: "me" }), "me", now, 15_000), { holderIdentity: "me", leaseDurationSeconds: 15, acquireTime: T0, renewTime: now, leaseTransitions: 2 });
  });
  void it("a release frees the holder, keeps the transition count and shortens the lease", () => {
    assert.deepEqual(releasedRecord(record({ holderIdentity: "me" }), now), { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: 2 });
  });
});

void describe("parseLeaseRecord", () => {
  const cases: [string, unknown, LeaseRecord][] = [
    [
      "MicroTime strings as client-node returns them",
      { holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: "2026-03-01T12:00:00.000000Z", renewTime: "2026-03-01T12:00:05.250000Z", leaseTransitions: 3 },
      { holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: T0, renewTime: new Date("2026-03-01T12:00:05.250Z"), leaseTransitions: 3 },
    ],
    ["Date objects", { holderIdentity: "a", renewTime: T0 }, { holderIdentity: "a", leaseDurationSeconds: 0, acquireTime: undefined, renewTime: T0, leaseTransitions: 0 }],
    ["no spec: a free lease", undefined, { holderIdentity: "", leaseDurationSeconds: 0, acquireTime: undefined, renewTime: undefined, leaseTransitions: 0 }],
    [
      "wrong types and an unparsable time count as absent",
      { holderIdentity: 42, leaseDurationSeconds: "15", renewTime: "yesterday", leaseTransitions: 1.5 },
      { holderIdentity: "", leaseDurationSeconds: 0, acquireTime: undefined, renewTime: undefined, leaseTransitions: 0 },
    ],
  ];
  for (const [name, spec, expected] of cases) {
    void it(name, () => {
      assert.deepEqual(parseLeaseRecord(spec), expected);
    });
  }
});

void describe("parseElectionTimings and electionSettingsFromEnv", () => {
  void it("defaults to 15 s lease, 10 s renew deadline, 2 s retry", () => {
    assert.deepEqual(parseElectionTimings(undefined), { ok: true, timings: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } });
  });
  void it("reads the test override", () => {
    assert.deepEqual(parseElectionTimings("lease=2s, renew=1500ms,retry=300ms"), { ok: true, timings: { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 } });
  });
  const invalid: [string, RegExp][] = [
    ["lease=2500ms,renew=1s,retry=100ms", /lease must be whole seconds/],
    ["renew=20s", /renew must be shorter than lease/],
    ["retry=10s", /retry must be shorter than renew/],
    ["lease=soon", /^TURNOUT_ELECTION_TIMINGS=lease=soon: lease: must be a duration/],
    ["wait=1s", /"wait=1s" must be lease=DURATION, renew=DURATION or retry=DURATION/],
    ["toString=1s", /must be lease=DURATION/],
    ["lease=2s=3s", /must be lease=DURATION/],
  ];
  for (const [text, message] of invalid) {
    void it(`rejects ${JSON.stringify(text)} with a clear message`, () => {
      const result = parseElectionTimings(text);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error, message);
    });
  }
  void it("identity and namespace come from the downward-API variables", () => {
    const result = electionSettingsFromEnv({ POD_NAME: "turnout-7f9c", POD_NAMESPACE: "edge" }, "host_1");
    assert.deepEqual(result, { ok: true, settings: { identity: "turnout-7f9c", namespace: "edge", timings: { ...DEFAULT_ELECTION_TIMINGS } } });
  });
  void it("without them: hostname_pid in namespace default", () => {
    const result = electionSettingsFromEnv({ POD_NAME: "" }, "host_1");
    assert.equal(result.ok && `${result.settings.identity} ${result.settings.namespace}`, "host_1 default");
  });
  void it("a bad timing override is an error, not a default", () => {
    assert.equal(electionSettingsFromEnv({ TURNOUT_ELECTION_TIMINGS: "retry=1h" }).ok, false);
  });
});

/** An in-memory Lease with the API server's rules: 409 on create of an existing one or a stale resourceVersion. */
class MemoryLease implements LeaseClient {
  stored: V1Lease | undefined;
  #rv = 0;
  failing = false;
  hanging = false;
  /** Runs once, after a read and before the next write: lets another replica write in between. */
  beforeNextWrite: (() => Promise<unknown>) | undefined;

  // JSON round trips make the copies look like client-node's: MicroTimes come back as strings.
  #copy(lease: V1Lease): V1Lease {
    return JSON.parse(JSON.stringify(lease)) as V1Lease;
  }

  async #gate(): Promise<void> {
    if (this.hanging) await new Promise<never>(() => {});
    if (this.failing) throw new Error("503 Service Unavailable");
  }

  async #beforeWrite(): Promise<void> {
    const hook = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    await hook?.();
    await this.#gate();
  }

  async read(): Promise<V1Lease | undefined> {
    await this.#gate();
    return this.stored && this.#copy(this.stored);
  }

  async create(lease: V1Lease): Promise<V1Lease | "conflict"> {
    await this.#beforeWrite();
    if (this.stored) return "conflict";
    return this.#store(lease);
  }

  async replace(lease: V1Lease): Promise<V1Lease | "conflict"> {
    await this.#beforeWrite();
    const expected = lease.metadata?.resourceVersion;
    if (!this.stored || (expected !== undefined && expected !== this.stored.metadata?.resourceVersion)) return "conflict";
    return this.#store(lease);
  }

  force(spec: V1Lease["spec"]): void {
    this.#store({ ...this.stored, spec });
  }

  #store(lease: V1Lease): V1Lease {
    this.#rv += 1;
    this.stored = this.#copy({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(this.#rv) } });
    return this.#copy(this.stored);
  }
}

/** One fake monotonic clock for every replica; timeouts fire only when a test lets sleeps pass. */
class FakeTime {
  ms = 0;
  sleepsPass = false;
  readonly waits: number[] = [];
  now = (): number => this.ms;
  wall = (): Date => new Date(T0.getTime() + this.ms);
  sleep = (ms: number, signal: AbortSignal): Promise<void> => {
    this.waits.push(ms);
    if (this.sleepsPass) {
      this.ms += ms;
      return Promise.resolve();
    }
    return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  };
}

interface Replica {
  elector: LeaderElector;
  events: string[];
}

function replica(identity: string, lease: MemoryLease, time: FakeTime, timings = DEFAULT_ELECTION_TIMINGS): Replica {
  const events: string[] = [];
  const elector = new LeaderElector({
    name: "turnout-leader",
    namespace: "default",
    identity,
    client: lease,
    logger: createLogger({ level: "error", write: () => {} }),
    timings,
    now: time.now,
    wallClock: time.wall,
    sleep: time.sleep,
    random: () => 0.5,
    onStartedLeading: () => events.push("started"),
    onStoppedLeading: () => events.push("stopped"),
    onNewLeader: (id) => events.push(`leader ${id}`),
  });
  return { elector, events };
}

/** A Lease, a clock and one replica per identity sharing them. */
function election<const T extends string>(...identities: T[]): { lease: MemoryLease; time: FakeTime } & Record<T, Replica> {
  const lease = new MemoryLease();
  const time = new FakeTime();
  const replicas = Object.fromEntries(identities.map((identity) => [identity, replica(identity, lease, time)])) as Record<T, Replica>;
  return { lease, time, ...replicas };
}

function holder(lease: MemoryLease): string | undefined {
  return lease.stored?.spec?.holderIdentity;
}

void describe("LeaderElector rounds", () => {
  void it("the first candidate creates the Lease and leads; the second follows and learns who leads", async () => {
    const { lease, a, b } = election("a", "b");
    assert.equal(await a.elector.tryAcquireOrRenew(), true);
    assert.equal(await b.elector.tryAcquireOrRenew(), false);
    assert.equal(a.elector.isLeader, true);
    assert.equal(b.elector.isLeader, false);
    assert.deepEqual(a.events, ["leader a", "started"]);
    assert.deepEqual(b.events, ["leader a"]);
    assert.equal(holder(lease), "a");
    assert.equal(lease.stored?.spec?.leaseDurationSeconds, 15);
    assert.match(String(lease.stored?.spec?.renewTime), /^2026-03-01T12:00:00\.\d{6}Z$/, "RFC 3339 micro time");
  });

  void it("a follower takes over only once the Lease went unchanged for its duration by its own clock", async () => {
    const { lease, time, a, b } = election("a", "b");
    await a.elector.tryAcquireOrRenew();
    await b.elector.tryAcquireOrRenew();
    time.ms = 10_000;
    await a.elector.tryAcquireOrRenew();
    time.ms = 12_000;
    assert.equal(await b.elector.tryAcquireOrRenew(), false, "sees the renewal at 12 s");
    time.ms = 26_999;
    assert.equal(await b.elector.tryAcquireOrRenew(), false);
    time.ms = 27_000;
    assert.equal(await b.elector.tryAcquireOrRenew(), true);
    assert.equal(holder(lease), "b");
    assert.equal(lease.stored?.spec?.leaseTransitions, 1);
    assert.deepEqual(b.events, ["leader a", "leader b", "started"]);
  });

  void it("a leader whose renewals fail steps down when the renew deadline has passed, not before", async () => {
    const { lease, time, a } = election("a");
    await a.elector.tryAcquireOrRenew();
    lease.failing = true;
    time.ms = 9_999;
    assert.equal(await a.elector.tryAcquireOrRenew(), false);
    assert.equal(a.elector.isLeader, true);
    time.ms = 10_000;
    await a.elector.tryAcquireOrRenew();
    assert.equal(a.elector.isLeader, false);
    assert.deepEqual(a.events, ["leader a", "started", "stopped"]);
    lease.failing = false;
    time.ms = 11_000;
    assert.equal(await a.elector.tryAcquireOrRenew(), true, "the Lease still names it, so it leads again");
    assert.equal(lease.stored?.spec?.leaseTransitions, 0);
  });

  void it("a hanging renewal cannot keep a leader leading past its deadline", async () => {
    const { lease, time, a } = election("a");
    await a.elector.tryAcquireOrRenew();
    lease.hanging = true;
    time.sleepsPass = true;
    time.ms = 9_000;
    assert.equal(await a.elector.tryAcquireOrRenew(), false);
    assert.equal(time.ms, 10_000, "waited only for what was left of the deadline");
    assert.equal(a.elector.isLeader, false);
  });

  void it("a candidate that loses the write race (409) stays a follower", async () => {
    const { lease, a, b } = election("a", "b");
    lease.beforeNextWrite = () => a.elector.tryAcquireOrRenew();
    assert.equal(await b.elector.tryAcquireOrRenew(), false);
    assert.equal(b.elector.isLeader, false);
    assert.equal(a.elector.isLeader, true);
    assert.equal(holder(lease), "a");
  });

  void it("a leader that sees another holder in the Lease steps down at once", async () => {
    const { lease, time, a } = election("a");
    await a.elector.tryAcquireOrRenew();
    lease.force({ holderIdentity: "c", leaseDurationSeconds: 15, leaseTransitions: 1 });
    time.ms = 1_000;
    assert.equal(await a.elector.tryAcquireOrRenew(), false);
    assert.deepEqual(a.events, ["leader a", "started", "leader c", "stopped"]);
  });

  void it("release frees the Lease so a follower acquires at its next round, without waiting for expiry", async () => {
    const { lease, time, a, b } = election("a", "b");
    await a.elector.tryAcquireOrRenew();
    await b.elector.tryAcquireOrRenew();
    time.ms = 500;
    await a.elector.release();
    assert.equal(a.elector.isLeader, false);
    assert.deepEqual(a.events, ["leader a", "started", "stopped"]);
    assert.equal(holder(lease), "");
    time.ms = 501;
    assert.equal(await b.elector.tryAcquireOrRenew(), true);
    assert.equal(lease.stored?.spec?.leaseTransitions, 1);
  });

  void it("a follower's release leaves the Lease alone", async () => {
    const { lease, a, b } = election("a", "b");
    await a.elector.tryAcquireOrRenew();
    await b.elector.tryAcquireOrRenew();
    const before = JSON.stringify(lease.stored);
    await b.elector.release();
    assert.equal(JSON.stringify(lease.stored), before);
  });
});

/** The fake Lease answers in microtasks: one macrotask later, the loop sits in its retry sleep (the last one asked for). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

void describe("LeaderElector loop", () => {
  void it("campaigns at once, renews every retry period as leader, and release ends the loop", async () => {
    const { lease, time, a } = election("a");
    a.elector.start();
    await settle();
    assert.equal(holder(lease), "a");
    assert.equal(a.elector.isLeader, true);
    assert.equal(time.waits.at(-1), 2_000);
    await a.elector.release();
    assert.equal(holder(lease), "");
    a.elector.start();
    await settle();
    assert.equal(holder(lease), "", "a released elector does not campaign again");
  });

  void it("a follower waits a jittered retry period", async () => {
    const lease = new MemoryLease();
    lease.force({ holderIdentity: "other", leaseDurationSeconds: 15 });
    const time = new FakeTime();
    const b = replica("b", lease, time);
    b.elector.start();
    await settle();
    assert.equal(time.waits.at(-1), 2_500, "retry 2 s plus half the jitter range (random 0.5)");
    await b.elector.release();
  });
});

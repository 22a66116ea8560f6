// selectUsable: which endpoints a backend's balancer gets, per conditions and health flags.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Endpoint } from "./endpoint.ts";
import { endpointAddress } from "./endpoint.ts";
import type { EndpointHealth } from "./endpoint-health.ts";
import { selectUsable } from "./endpoint-health.ts";

const NOW = 1_000;

/** "r" ready, "t" serving+terminating, "x" terminating and no longer serving, "n" not ready. */
type State = "r" | "t" | "x" | "n";
/** "ok", "failed" (active check), "ejected" (until NOW+500), "expired" (ejected until NOW). */
type Flag = "ok" | "failed" | "ejected" | "expired";

function endpoint(index: number, state: State): Endpoint {
  const ip = `10.1.0.${index + 1}`;
  return {
    address: endpointAddress(ip, 80),
    ip,
    port: 80,
    family: 4,
    ready: state === "r",
    serving: state === "r" || state === "t",
    terminating: state === "t" || state === "x",
  };
}

function healthFor(flag: Flag): EndpointHealth | undefined {
  switch (flag) {
    case "ok":
      return undefined;
    case "failed":
      return { failedActiveCheck: true, ejectedUntil: 0 };
    case "ejected":
      return { failedActiveCheck: false, ejectedUntil: NOW + 500 };
    case "expired":
      return { failedActiveCheck: false, ejectedUntil: NOW };
  }
}

interface Case {
  name: string;
  endpoints: [State, Flag][];
  /** Indexes of the endpoints expected in each list. */
  candidates: number[];
  usable: number[];
  panic: boolean;
  staleAt?: number;
}

const CASES: Case[] = [
  { name: "no endpoints", endpoints: [], candidates: [], usable: [], panic: false },
  { name: "all ready", endpoints: [["r", "ok"], ["r", "ok"]], candidates: [0, 1], usable: [0, 1], panic: false },
  { name: "not ready ones are left out", endpoints: [["r", "ok"], ["n", "ok"]], candidates: [0], usable: [0], panic: false },
  { name: "none ready: nothing to send to", endpoints: [["n", "ok"], ["x", "ok"]], candidates: [], usable: [], panic: false },
  {
    name: "none ready: serving+terminating ones take traffic",
    endpoints: [["t", "ok"], ["x", "ok"], ["n", "ok"]],
    candidates: [0],
    usable: [0],
    panic: false,
  },
  { name: "a ready endpoint wins over serving+terminating ones", endpoints: [["t", "ok"], ["r", "ok"]], candidates: [1], usable: [1], panic: false },
  { name: "failed active check is left out", endpoints: [["r", "failed"], ["r", "ok"]], candidates: [0, 1], usable: [1], panic: false },
  {
    name: "ejected is left out until it expires",
    endpoints: [["r", "ejected"], ["r", "ok"]],
    candidates: [0, 1],
    usable: [1],
    panic: false,
    staleAt: NOW + 500,
  },
  { name: "an ejection that ended at now is over", endpoints: [["r", "expired"], ["r", "ok"]], candidates: [0, 1], usable: [0, 1], panic: false },
  {
    name: "panic: no healthy candidate, all candidates take traffic",
    endpoints: [["r", "failed"], ["r", "ejected"], ["n", "ok"]],
    candidates: [0, 1],
    usable: [0, 1],
    panic: true,
    staleAt: NOW + 500,
  },
  {
    name: "panic among serving+terminating candidates",
    endpoints: [["t", "failed"], ["t", "failed"]],
    candidates: [0, 1],
    usable: [0, 1],
    panic: true,
  },
  {
    name: "health of a non-candidate does not matter",
    endpoints: [["r", "ok"], ["n", "ejected"]],
    candidates: [0],
    usable: [0],
    panic: false,
  },
];

for (const c of CASES) {
  void test(`selectUsable: ${c.name}`, () => {
    const all = c.endpoints.map(([state], i) => endpoint(i, state));
    const health = new Map(c.endpoints.map(([, flag], i) => [all[i]!.address, healthFor(flag)]));
    const selection = selectUsable(all, (address) => health.get(address), NOW);
    const indexes = (list: readonly Endpoint[]): number[] => list.map((e) => all.indexOf(e));
    assert.deepEqual(indexes(selection.candidates), c.candidates, "candidates");
    assert.deepEqual(indexes(selection.usable), c.usable, "usable");
    assert.equal(selection.panic, c.panic, "panic");
    assert.equal(selection.staleAt, c.staleAt ?? Infinity, "staleAt");
    assert.ok(Object.isFrozen(selection.usable));
  });
}

void test("selectUsable: staleAt is the earliest ejection end among candidates", () => {
  const all = [endpoint(0, "r"), endpoint(1, "r"), endpoint(2, "r")];
  const ends = [NOW + 300, NOW + 100, 0];
  const selection = selectUsable(all, (address) => ({ failedActiveCheck: false, ejectedUntil: ends[all.findIndex((e) => e.address === address)]! }), NOW);
  assert.equal(selection.staleAt, NOW + 100);
  assert.deepEqual(selection.usable, [all[2]]);
});

void test("selectUsable: when nothing is filtered out, candidates and usable are the input list itself, not copies", () => {
  const all = Object.freeze([endpoint(0, "r"), endpoint(1, "r")]);
  const selection = selectUsable(all, () => undefined, NOW);
  assert.equal(selection.candidates, all);
  assert.equal(selection.usable, all);
  const oneFailing = selectUsable(all, (address) => (address === all[0]!.address ? { failedActiveCheck: true, ejectedUntil: 0 } : undefined), NOW);
  assert.equal(oneFailing.candidates, all);
  assert.deepEqual(oneFailing.usable, [all[1]]);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../observability/logger.ts";
import type { Diagnostic } from "../routing/route-table.ts";
import { DiagnosticReporter } from "./diagnostic-reporter.ts";
import { ManualTimers } from "./test-timers.ts";

const missingService: Diagnostic = {
  ref: { kind: "Ingress", namespace: "default", name: "shop" },
  severity: "Warning",
  reason: "ServiceNotFound",
  message: 'Service "default/nowhere" not found',
};
const missingSecret: Diagnostic = { ...missingService, reason: "TLSSecretNotFound", message: 'Secret "default/shop-tls" not found' };

interface Harness {
  reporter: DiagnosticReporter;
  timers: ManualTimers;
  events: Diagnostic[];
  warnings: () => string[];
  setUid: (uid: string) => void;
}

function reporter(settleMs = 0): Harness {
  const events: Diagnostic[] = [];
  const lines: string[] = [];
  const timers = new ManualTimers();
  let uid = "uid-1";
  const logger = createLogger({ level: "info", write: (line) => lines.push(line) });
  const r = new DiagnosticReporter({ logger, events: { emit: (d) => events.push(d) }, uidOf: () => uid, settleMs, timers });
  const warnings = (): string[] => lines.map((line) => (JSON.parse(line) as { reason?: string }).reason ?? "");
  return { reporter: r, timers, events, warnings, setUid: (next) => (uid = next) };
}

test("a problem that persists across rebuilds is reported once; one that goes away and comes back, again", () => {
  const { reporter: r, events, warnings } = reporter();
  r.report([missingService]);
  r.report([missingService]);
  assert.equal(events.length, 1);
  r.report([]);
  r.report([missingService]);
  assert.equal(events.length, 2);
  assert.deepEqual(warnings(), ["ServiceNotFound", "ServiceNotFound"]);
});

test("the same problem on a replaced object (same name, new uid) is reported again, with its Event", () => {
  const { reporter: r, events, warnings, setUid } = reporter();
  r.report([missingService]);
  // kubectl replace --force: the delete and the create reach one rebuild, so the problem never disappears.
  setUid("uid-2");
  r.report([missingService]);
  assert.equal(events.length, 2);
  assert.deepEqual(warnings(), ["ServiceNotFound", "ServiceNotFound"]);
});

test("a problem gone before it settles (objects arriving out of order) is never reported", () => {
  const { reporter: r, timers, events, warnings } = reporter(1000);
  // A namespace deleted: the Service's delete arrives before its Ingress's.
  r.report([missingService]);
  timers.advance(300);
  r.report([]);
  timers.advance(5000);
  assert.deepEqual(events, []);
  assert.deepEqual(warnings(), []);
});

test("a problem that lasts the settle time is reported then, once, and each on its own clock", () => {
  const { reporter: r, timers, events } = reporter(1000);
  r.report([missingService]);
  timers.advance(600);
  r.report([missingService, missingSecret]);
  assert.deepEqual(r.active().map((d) => d.reason), ["ServiceNotFound", "TLSSecretNotFound"], "/debug shows both at once");
  timers.advance(399);
  assert.equal(events.length, 0);
  timers.advance(1);
  assert.deepEqual(events.map((d) => d.reason), ["ServiceNotFound"]);
  timers.advance(600);
  assert.deepEqual(events.map((d) => d.reason), ["ServiceNotFound", "TLSSecretNotFound"]);
  r.report([missingService, missingSecret]);
  timers.advance(5000);
  assert.equal(events.length, 2);
});

test("a new leader replays only the problems already reported; stop() cancels the pending report", () => {
  const { reporter: r, timers, events } = reporter(1000);
  r.report([missingService]);
  timers.advance(1000);
  r.report([missingService, missingSecret]);
  r.replayEvents();
  assert.deepEqual(events.map((d) => d.reason), ["ServiceNotFound", "ServiceNotFound"]);
  r.stop();
  timers.advance(5000);
  assert.equal(events.length, 2);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../observability/logger.ts";
import type { Diagnostic } from "../routing/route-table.ts";
import { DiagnosticReporter } from "./diagnostic-reporter.ts";

const missingService: Diagnostic = {
  ref: { kind: "Ingress", namespace: "default", name: "shop" },
  severity: "Warning",
  reason: "ServiceNotFound",
  message: 'Service "default/nowhere" not found',
};

function reporterWithUid(): { reporter: DiagnosticReporter; events: Diagnostic[]; warnings: string[]; setUid: (uid: string) => void } {
  const events: Diagnostic[] = [];
  const warnings: string[] = [];
  let uid = "uid-1";
  const logger = createLogger({ level: "info", write: (line) => warnings.push(line) });
  const reporter = new DiagnosticReporter(logger, { emit: (d) => events.push(d) }, () => uid);
  return { reporter, events, warnings, setUid: (next) => (uid = next) };
}

test("a problem that persists across rebuilds is reported once; one that goes away and comes back, again", () => {
  const { reporter, events } = reporterWithUid();
  assert.equal(reporter.report([missingService]), 1);
  assert.equal(reporter.report([missingService]), 0);
  assert.equal(reporter.report([]), 0);
  assert.equal(reporter.report([missingService]), 1);
  assert.equal(events.length, 2);
});

test("the same problem on a replaced object (same name, new uid) is reported again, with its Event", () => {
  const { reporter, events, warnings, setUid } = reporterWithUid();
  reporter.report([missingService]);
  // kubectl replace --force: the delete and the create reach one rebuild, so the problem never disappears.
  setUid("uid-2");
  assert.equal(reporter.report([missingService]), 1);
  assert.equal(events.length, 2);
  assert.equal(warnings.filter((line) => line.includes("ServiceNotFound")).length, 2);
});

// The fallback forwarding engine (TURNOUT_PROXY_ENGINE=http-proxy, docs/design/forwarding.md)
// must behave as the default one: the proxy behaviour and HTTP edge-case suites run
// again in a child test runner with every turnout process on that engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SUITES = ["proxy-behaviour.test.ts", "http-edge-cases.test.ts"].map((file) => fileURLToPath(new URL(file, import.meta.url)));

interface ChildRun {
  code: number | null;
  tap: string;
}

function runSuites(env: Record<string, string>): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    // Without NODE_TEST_CONTEXT: set by the outer runner, it would make this one report to it in its own protocol.
    const { NODE_TEST_CONTEXT: _outer, ...inherited } = process.env;
    const child = spawn(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=tap", ...SUITES], {
      env: { ...inherited, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tap = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (tap += chunk));
    child.stderr.resume();
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, tap }));
  });
}

/** A figure of the TAP summary ("# pass 41"). */
const summary = (tap: string, name: string): number => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(tap)?.[1] ?? NaN);

test("the http-proxy engine passes the proxy behaviour and HTTP edge-case suites", { timeout: 120_000 }, async () => {
  const { code, tap } = await runSuites({ TURNOUT_PROXY_ENGINE: "http-proxy" });
  const failed = tap.split("\n").filter((line) => /^\s*not ok /.test(line));
  assert.deepEqual(failed, [], "tests failing with the http-proxy engine");
  assert.equal(code, 0);
  // Every turnout the suites start checks that it runs the engine asked for (support/turnout-process.ts).
  assert.ok(summary(tap, "pass") >= 80, `both suites ran (${summary(tap, "pass")} passed)`);
});

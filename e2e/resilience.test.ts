// Failure made invisible: active health checks take a failing endpoint out of
// rotation and bring it back, a rolling replacement of every endpoint and a
// burst of Ingress edits under load fail no request.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, sleep, answeredBy } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { FAST_HEALTH_CHECKS, endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let port: number;

const IPS = ["127.0.0.41", "127.0.0.42", "127.0.0.43", "127.0.0.44", "127.0.0.45"];

async function upstreamOf(host: string): Promise<string> {
  return answeredBy(await turnout.request(host, "/"));
}

/** Runs `concurrency` request loops against `host` until `stop()` resolves; returns every non-200 answer. */
async function underLoad(host: string, concurrency: number, during: () => Promise<void>): Promise<{ failures: string[]; sent: number }> {
  const failures: string[] = [];
  let running = true;
  let sent = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    // Bounded: the disruption below ends well before this many requests.
    while (running && sent < 50_000) {
      sent++;
      const res = await turnout.request(host, "/");
      if (res.status !== 200) failures.push(`${res.status} ${res.body.trim()}`);
    }
  });
  try {
    await during();
  } finally {
    running = false;
    await Promise.all(loops);
  }
  return { failures, sent };
}

before(async () => {
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["r1", "r2", "r3", "r4", "r5"], IPS);
  port = fleet[0]!.port;
  const k = api.client;
  await k.apply(ingressClass());
  await k.apply(service("checked"));
  await k.apply(service("rolling"));
  await k.apply(endpointSlice("checked-1", "checked", port, IPS.slice(0, 3).map((ip) => ({ ip }))));
  await k.apply(endpointSlice("rolling-1", "rolling", port, IPS.slice(3, 5).map((ip) => ({ ip }))));
  await k.apply(
    ingress({
      name: "checked",
      host: "checked.test",
      annotations: FAST_HEALTH_CHECKS,
      paths: [{ path: "/", service: "checked", port: 80 }],
    }),
  );
  await k.apply(ingress({ name: "rolling", host: "rolling.test", paths: [{ path: "/", service: "rolling", port: 80 }] }));
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

test("an endpoint failing its active health check leaves rotation within interval x threshold, and returns when healthy", async () => {
  const sick = fleet[1]!;
  sick.status = 503;
  const failedAt = Date.now();
  await turnout.waitForLog((l) => l.msg === "endpoint failed active health check" && l.endpoint === sick.address, 3000);
  // interval 200 ms (+/-10% jitter) x 2 probes, plus one probe's timeout as slack.
  assert.ok(Date.now() - failedAt < 200 * 1.1 * 2 + 100 + 400, `detected after ${Date.now() - failedAt} ms`);
  for (let i = 0; i < 30; i++) assert.notEqual(await upstreamOf("checked.test"), "status 503");
  sick.status = undefined;
  await turnout.waitUntil(async () => {
    for (let i = 0; i < 6; i++) if ((await upstreamOf("checked.test")) === sick.name) return true;
    return false;
  }, 3000, "healthy endpoint back in rotation");
});

test("a rolling replacement of every endpoint under load fails no request", async () => {
  const [old1, old2, new1, new2] = [IPS[3]!, IPS[4]!, IPS[0]!, IPS[2]!];
  const { failures, sent } = await underLoad("rolling.test", 4, async () => {
    await sleep(150);
    // New pods become ready next to the old ones...
    await api.client.apply(endpointSlice("rolling-1", "rolling", port, [{ ip: old1 }, { ip: old2 }, { ip: new1 }, { ip: new2 }]));
    await sleep(150);
    // ...the old ones start terminating (still serving while they drain)...
    await api.client.apply(
      endpointSlice("rolling-1", "rolling", port, [
        { ip: old1, ready: false, serving: true, terminating: true },
        { ip: old2, ready: false, serving: true, terminating: true },
        { ip: new1 },
        { ip: new2 },
      ]),
    );
    await sleep(150);
    // ...and are removed.
    await api.client.apply(endpointSlice("rolling-1", "rolling", port, [{ ip: new1 }, { ip: new2 }]));
    await sleep(200);
  });
  assert.deepEqual(failures, [], `${failures.length} of ${sent} failed`);
  const after = new Set<string>();
  for (let i = 0; i < 10; i++) after.add(await upstreamOf("rolling.test"));
  assert.deepEqual([...after].sort(), ["r1", "r3"]);
});

test("Ingress edits every 100 ms for 5 s under load fail no request on routes that stay defined", async () => {
  const { failures, sent } = await underLoad("rolling.test", 4, async () => {
    for (let i = 0; i < 50; i++) {
      const paths = [{ path: "/", service: "rolling", port: 80 }];
      if (i % 2 === 0) paths.push({ path: `/extra-${i}`, service: "checked", port: 80 });
      await api.client.apply(
        ingress({ name: "rolling", host: "rolling.test", annotations: { "turnout.dev/load-balance": i % 3 === 0 ? "least-request" : "round-robin" }, paths }),
      );
      await api.client.apply(ingress({ name: `churn-${i % 5}`, host: `churn-${i}.test`, paths: [{ path: "/", service: "checked", port: 80 }] }));
      await sleep(100);
    }
  });
  assert.deepEqual(failures, [], `${failures.length} of ${sent} failed`);
  assert.ok(sent > 200, `load was applied (${sent} requests)`);
});

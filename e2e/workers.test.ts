// --workers 2 end to end (cluster mode against the Kubernetes API test server): one
// control plane, two proxy processes sharing the listeners. Every change reaches
// every worker, one scrape counts every request, a killed worker comes back, and
// SIGTERM drains all of them.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, httpRequest, answeredBy } from "./support/turnout-process.ts";
import type { HttpResult, LogLine } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { childPids, freePort, isAlive } from "./support/processes.ts";
import { endpointSlice, ingress, ingressClass, service, tlsSecret } from "./support/objects.ts";
import { fingerprintOf, presentedCertificate } from "./support/tls-client.ts";
import { generateSelfSignedCertificate } from "../src/tls/self-signed.ts";

const IPS = ["127.0.0.61", "127.0.0.62", "127.0.0.63"];
// Nothing listens here: connections are refused.
const DEAD_IP = "127.0.0.69";

let api: KubeApiServerHandle;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let port: number;

/** A request on a connection of its own: cluster hands each new connection to the next worker. */
function fresh(host: string, path = "/", to: TurnoutProcess = turnout, timeoutMs?: number): Promise<HttpResult> {
  return httpRequest({ port: to.httpPort, path, method: "GET", headers: { host }, agent: false, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
}

async function upstreamOf(host: string, path = "/"): Promise<string> {
  return answeredBy(await fresh(host, path));
}

/** What `count` fresh connections see, as "answer x times". */
async function seenOnFreshConnections(host: string, count: number, path = "/"): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const answer = await upstreamOf(host, path);
    seen.set(answer, (seen.get(answer) ?? 0) + 1);
  }
  return seen;
}

/**
 * Waits until the primary has published a table newer than `since` and every worker
 * serves it. The channel to a worker is ordered, so each worker has then also applied
 * everything the primary sent before that table.
 */
async function workersServe(since: number, what: string): Promise<number> {
  let generation = 0;
  await turnout.waitUntil(
    async () => {
      const debug = await turnout.debugRoutes();
      generation = debug.generation;
      const workers = debug.workers ?? [];
      return generation > since && workers.length === 2 && workers.every((w) => w.listening && w.generation === generation);
    },
    5000,
    `every worker to serve ${what}`,
  );
  return generation;
}

let barriers = 0;
/** Publishes a table change of no consequence and waits until every worker serves it. */
async function barrier(): Promise<void> {
  const since = (await turnout.debugRoutes()).generation;
  barriers += 1;
  await api.client.apply(ingress({ name: "barrier", host: `barrier-${barriers}.test`, paths: [{ path: "/", service: "svc-a", port: 80 }] }));
  await workersServe(since, `barrier ${barriers}`);
}

/** Sum of the samples of one metric whose labels include all of `labels`. */
function total(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? "").includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

async function metrics(): Promise<string> {
  const res = await turnout.admin("/metrics");
  assert.equal(res.status, 200, res.body);
  return res.body;
}

/** How many sockets listening on 127.0.0.1:`port` each process holds (from /proc, so no tool is needed). */
function listeningSocketsOf(pids: readonly number[], port: number): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const listening = new Set<string>();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
    // 0100007F: 127.0.0.1 in the kernel's byte order; state 0A: LISTEN.
    if (local === `0100007F:${hexPort}` && state === "0A" && inode !== undefined) listening.add(inode);
  }
  return pids.map((pid) => {
    const fds = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ""; // closed meanwhile
      }
    });
    return fds.filter((link) => listening.has(/^socket:\[([0-9]+)\]$/.exec(link)?.[1] ?? "")).length;
  });
}

/** Opens `count` connections at once, one request each to the dead backend; returns how many each worker (by its log lines) answered. */
async function burstPerWorker(to: TurnoutProcess, count: number): Promise<number[]> {
  const from = to.logs.length;
  const answered = (): LogLine[] => to.logs.slice(from).filter((l) => l.component === "proxy" && l.worker !== undefined);
  const results = await Promise.all(Array.from({ length: count }, () => fresh("dead.test", "/", to)));
  assert.deepEqual(results.map((r) => r.status), Array(count).fill(502));
  await to.waitUntil(() => answered().length >= count, 2000, `${count} proxy log lines`);
  const perWorker = new Map<unknown, number>();
  for (const line of answered()) perWorker.set(line.worker, (perWorker.get(line.worker) ?? 0) + 1);
  return [...perWorker.values()];
}

/**
 * SIGKILLs one of `to`'s workers while three loops send requests for shop.test, each on
 * a connection of its own; `meanwhile` runs once the primary has seen the crash. Resolves
 * when a replacement serves, with the requests that failed.
 */
async function killWorkerUnderLoad(to: TurnoutProcess, meanwhile: () => Promise<void> = () => Promise.resolve()): Promise<{ victim: number; failures: string[] }> {
  const [victim] = childPids(to.pid);
  assert.ok(victim);
  const failures: string[] = [];
  let stop = false;
  const loop = async (): Promise<void> => {
    while (!stop) {
      // Connections on the dying worker are reset; with NODE_CLUSTER_SCHED_POLICY=rr one being
      // handed to it would hang instead: a short timeout keeps that from stalling the test.
      const res = await fresh("shop.test", "/", to, 1500).catch((error: unknown) => ({ status: 0, body: String(error) }));
      if (res.status !== 200) failures.push(`${res.status} ${res.body.trim()}`);
    }
  };
  const loops = Array.from({ length: 3 }, loop);
  await new Promise((r) => setTimeout(r, 100));
  process.kill(victim, "SIGKILL");
  try {
    await to.waitForLog((l) => l.msg === "proxy worker exited unexpectedly; restarting it" && l.pid === victim, 3000);
    await meanwhile();
    await to.waitUntil(async () => {
      const workers = (await to.debugRoutes()).workers ?? [];
      return workers.length === 2 && workers.every((w) => w.pid !== victim && w.listening && w.generation > 0);
    }, 8000, "a replacement worker");
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  return { victim, failures };
}

before(async () => {
  api = await startKubeApiServer();
  fleet = await startEchoFleet(["a1", "a2", "b1"], IPS);
  port = fleet[0]!.port;
  const k = api.client;
  await k.apply(ingressClass());
  for (const name of ["svc-a", "svc-b", "dead"]) await k.apply(service(name));
  await k.apply(endpointSlice("svc-a-1", "svc-a", port, [{ ip: IPS[0]! }]));
  await k.apply(endpointSlice("svc-b-1", "svc-b", port, [{ ip: IPS[2]! }]));
  await k.apply(endpointSlice("dead-1", "dead", port, [{ ip: DEAD_IP }]));
  await k.apply(ingress({ name: "main", host: "shop.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
  await k.apply(ingress({ name: "slow", host: "slow.test", paths: [{ path: "/", service: "svc-b", port: 80 }] }));
  await k.apply(ingress({ name: "dead", host: "dead.test", annotations: { "turnout.dev/retries": "0" }, paths: [{ path: "/", service: "dead", port: 80 }] }));
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2"] });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await api?.stop();
});

describe("two workers, one control plane", () => {
  test("two proxy processes serve; readiness means both serve the current table", async () => {
    assert.equal(childPids(turnout.pid).length, 2);
    // Port 0 is resolved by the primary, so each worker binds the resolved port with a socket of its own.
    assert.deepEqual((await turnout.waitForLog((l) => l.msg === "listening")).sockets, { http: "one per worker", https: "one per worker" });
    const debug = await turnout.debugRoutes();
    assert.equal(debug.workers?.length, 2);
    for (const worker of debug.workers ?? []) assert.deepEqual({ listening: worker.listening, generation: worker.generation }, { listening: true, generation: debug.generation });
    assert.equal((await turnout.admin("/readyz")).status, 200);
  });

  test("both workers take connections (their log lines name them)", async () => {
    // The kernel hands each new connection to whichever worker accepts first: keep
    // opening connections until both have answered one (they split about evenly).
    const from = turnout.logs.length;
    const seen = (): Set<unknown> => new Set(turnout.logs.slice(from).filter((l) => l.component === "proxy" && l.worker !== undefined).map((l) => l.worker));
    for (let i = 0; i < 100 && seen().size < 2; i++) assert.equal((await fresh("dead.test")).status, 502);
    await turnout.waitUntil(() => seen().size === 2, 2000, `both workers to log a failure (seen: ${[...seen()].join(", ")})`);
  });

  test("one scrape counts the requests of every worker", async () => {
    const labels = { namespace: "default", ingress: "main", code: "200" };
    const before = total(await metrics(), "turnout_requests_total", labels);
    const requests = 30;
    const results = await Promise.all(Array.from({ length: requests }, () => fresh("shop.test")));
    assert.deepEqual(results.map((r) => r.status), Array(requests).fill(200));
    assert.equal(total(await metrics(), "turnout_requests_total", labels) - before, requests);
  });

  test("/debug/routes shows the primary's table and endpoints", async () => {
    const debug = await turnout.debugRoutes();
    assert.ok(debug.generation >= 1);
    assert.ok(debug.table);
    assert.deepEqual(debug.endpoints["default/svc-a:80"]?.map((e) => e.address), [`${IPS[0]}:${port}`]);
  });
});

describe("changes reach every worker", () => {
  test("Ingress create, update and delete", async () => {
    let generation = (await turnout.debugRoutes()).generation;
    await api.client.apply(ingress({ name: "blog", host: "blog.test", paths: [{ path: "/", service: "svc-b", port: 80 }] }));
    generation = await workersServe(generation, "the new Ingress");
    assert.deepEqual([...await seenOnFreshConnections("blog.test", 12)], [["b1", 12]]);
    await api.client.apply(ingress({ name: "blog", host: "blog.test", paths: [{ path: "/", service: "svc-a", port: 80 }] }));
    generation = await workersServe(generation, "the updated Ingress");
    assert.deepEqual([...await seenOnFreshConnections("blog.test", 12)], [["a1", 12]]);
    await api.client.delete({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name: "blog" });
    await workersServe(generation, "the deletion");
    assert.deepEqual([...await seenOnFreshConnections("blog.test", 12)], [["status 404", 12]]);
  });

  test("endpoint scale up and down, without a new table", async () => {
    const twoEndpoints = async (): Promise<boolean> => (await turnout.debugRoutes()).endpoints["default/svc-a:80"]?.length === 2;
    await api.client.apply(endpointSlice("svc-a-1", "svc-a", port, [{ ip: IPS[0]! }, { ip: IPS[1]! }]));
    await turnout.waitUntil(twoEndpoints, 3000, "the primary to see two endpoints");
    await barrier();
    const seen = await seenOnFreshConnections("shop.test", 16);
    assert.deepEqual([...seen.keys()].sort(), ["a1", "a2"], JSON.stringify([...seen]));
    await api.client.apply(endpointSlice("svc-a-1", "svc-a", port, [{ ip: IPS[1]! }]));
    await turnout.waitUntil(async () => !(await twoEndpoints()), 3000, "the primary to see one endpoint");
    await barrier();
    assert.deepEqual([...await seenOnFreshConnections("shop.test", 12)], [["a2", 12]]);
  });

  test("TLS certificates from Secrets are served by every worker", async () => {
    const pem = generateSelfSignedCertificate({ commonName: "secure.test", dnsNames: ["secure.test"] });
    const expected = fingerprintOf(pem);
    await api.client.apply(tlsSecret("secure-tls", pem));
    await api.client.apply(ingress({ name: "secure", host: "secure.test", paths: [{ path: "/", service: "svc-b", port: 80 }], tls: [{ hosts: ["secure.test"], secretName: "secure-tls" }] }));
    await turnout.waitUntil(async () => (await presentedCertificate(turnout.httpsPort, "secure.test")).fingerprint === expected, 5000, "the certificate on one worker");
    await barrier();
    const presented = await Promise.all(Array.from({ length: 8 }, async () => (await presentedCertificate(turnout.httpsPort, "secure.test")).fingerprint));
    assert.deepEqual(presented, Array(8).fill(expected));
  });
});

describe("a crashed worker", () => {
  test("is restarted; traffic keeps flowing; the aggregated counters do not go backwards", async () => {
    const labels = { namespace: "default", ingress: "main", code: "200" };
    const beforeKill = total(await metrics(), "turnout_requests_total", labels);
    const { victim, failures } = await killWorkerUnderLoad(turnout, async () => {
      assert.equal((await turnout.admin("/readyz")).status, 200, "the other worker serves meanwhile");
    });
    assert.ok(failures.length <= 5, `at most a few requests fail while the worker dies: ${failures.join("; ")}`);
    assert.equal((await turnout.admin("/readyz")).status, 200);
    assert.equal(childPids(turnout.pid).length, 2);
    assert.ok(!childPids(turnout.pid).includes(victim));
    const after = await Promise.all(Array.from({ length: 20 }, () => fresh("shop.test")));
    assert.deepEqual(after.map((r) => r.status), Array(20).fill(200));
    const scrape = await metrics();
    assert.ok(total(scrape, "turnout_requests_total", labels) >= beforeKill + 20);
    assert.equal(total(scrape, "turnout_worker_restarts_total", {}), 1, "the crash is counted");
  });
});

describe("fixed ports: a listening socket per worker (--reuse-port, the default)", () => {
  let own: TurnoutProcess;
  let httpPort: number;
  let httpsPort: number;
  before(async () => {
    [httpPort, httpsPort] = [await freePort(), await freePort()];
    own = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2", "--http-port", String(httpPort), "--https-port", String(httpsPort)] });
  });
  after(() => own.stop());

  test("each worker holds its own HTTP and HTTPS listening socket on the configured ports", async () => {
    const listening = await own.waitForLog((l) => l.msg === "listening");
    assert.deepEqual(listening.sockets, { http: "one per worker", https: "one per worker" });
    const workers = childPids(own.pid);
    assert.equal(workers.length, 2);
    assert.deepEqual(listeningSocketsOf(workers, httpPort), [1, 1]);
    assert.deepEqual(listeningSocketsOf(workers, httpsPort), [1, 1]);
    assert.deepEqual(listeningSocketsOf([own.pid], httpPort), [0], "the primary holds no listening socket");
  });

  test("a second turnout on the same ports fails at start-up with EADDRINUSE instead of sharing them", async () => {
    let second: TurnoutProcess | undefined;
    let failure = "";
    try {
      second = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2", "--http-port", String(httpPort), "--https-port", String(httpsPort)] });
    } catch (error) {
      failure = String(error);
    } finally {
      await second?.stop();
    }
    assert.equal(second, undefined, "the second turnout must not start");
    assert.match(failure, /turnout exited \(1\)[\s\S]*fatal start-up error[\s\S]*EADDRINUSE/);
    assert.equal((await fresh("shop.test", "/", own)).status, 200, "the first one still serves");
    assert.deepEqual(listeningSocketsOf(childPids(own.pid), httpPort), [1, 1]);
  });

  test("a burst of 40 new connections is dealt to both workers", async () => {
    // The kernel picks a socket by a hash of each connection's addresses and ports: an
    // even split is binomial(40, 0.5), and fewer than 8 on either side has odds of about 1 in 24,000.
    const split = await burstPerWorker(own, 40);
    assert.equal(split.length, 2, `both workers answered: ${JSON.stringify(split)}`);
    assert.ok(split.every((n) => n >= 8), `each worker took at least 8 of 40: ${JSON.stringify(split)}`);
  });

  test("a crashed worker's replacement listens on the same ports and takes its share again", async () => {
    const { failures } = await killWorkerUnderLoad(own);
    // Connections waiting in the dead worker's own accept queue are reset with it.
    assert.ok(failures.length <= 5, `at most a few requests fail while the worker dies: ${failures.join("; ")}`);
    const workers = childPids(own.pid);
    assert.deepEqual(listeningSocketsOf(workers, httpPort), [1, 1]);
    const split = await burstPerWorker(own, 40);
    assert.ok(split.length === 2 && split.every((n) => n >= 8), `the replacement takes its share: ${JSON.stringify(split)}`);
  });
});

describe("graceful shutdown", () => {
  const sockets = [
    { kind: "one shared listening socket (port 0)", ports: (): Promise<string[]> => Promise.resolve([]) },
    { kind: "a listening socket per worker (fixed ports)", ports: async (): Promise<string[]> => ["--http-port", String(await freePort()), "--https-port", String(await freePort())] },
  ];
  for (const { kind, ports } of sockets) {
    test(`SIGTERM, ${kind}: readiness fails at once, every worker finishes its requests, all processes exit, code 0`, async () => {
      const own = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath, args: ["--workers", "2", "--shutdown-delay", "300ms", "--shutdown-grace", "5s", ...(await ports())] });
      const workers = childPids(own.pid);
      assert.equal(workers.length, 2);
      const slow = fleet[2]!;
      slow.delayMs = 500;
      try {
        // Six connections, spread over the workers, all in flight when the signal arrives.
        const inFlight = Array.from({ length: 6 }, () => fresh("slow.test", "/", own));
        await new Promise((r) => setTimeout(r, 150));
        own.signal("SIGTERM");
        await own.waitUntil(async () => (await own.admin("/readyz")).status === 503, 1000, "readiness to fail");
        assert.deepEqual((await Promise.all(inFlight)).map((r) => r.status), Array(6).fill(200));
        assert.equal(await own.exited, 0);
        await own.waitUntil(() => workers.every((pid) => !isAlive(pid)), 2000, "the workers to exit");
      } finally {
        slow.delayMs = 0;
        await own.stop();
      }
    });
  }
});

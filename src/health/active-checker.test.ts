// ActiveHealthChecker against real HTTP servers on loopback addresses, with short
// intervals; assertions wait for conditions, never for elapsed times.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { EndpointSlice } from "../store/objects.ts";
import { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import { endpointAddress } from "../endpoints/endpoint.ts";
import { createLogger } from "../observability/logger.ts";
import { ActiveHealthChecker } from "./active-checker.ts";
import type { HealthTransition, ProbeScheduler } from "./active-checker.ts";
import type { HealthCheckTarget } from "./targets.ts";

type Mode = "ok" | "fail" | "hang";

/** An upstream whose health endpoint answers 200, 500 or never, switchable at any time. */
interface ProbeServer {
  ip: string;
  port: number;
  address: string;
  mode: Mode;
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

const servers: ProbeServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function startServer(ip: string): Promise<ProbeServer> {
  const server = http.createServer((req, res) => {
    probeServer.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    if (probeServer.mode === "hang") return;
    res.writeHead(probeServer.mode === "ok" ? 200 : 500, { "content-type": "text/plain" });
    res.end(probeServer.mode);
  });
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  const port = (server.address() as AddressInfo).port;
  const probeServer: ProbeServer = {
    ip,
    port,
    address: endpointAddress(ip, port),
    mode: "ok",
    requests: [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(probeServer);
  return probeServer;
}

function sliceFor(list: ProbeServer[]): EndpointSlice {
  return {
    kind: "EndpointSlice",
    meta: { namespace: "shop", name: "web-1", uid: "u", resourceVersion: "1", generation: 1, creationTimestamp: "", labels: {}, annotations: {} },
    serviceName: "web",
    addressType: "IPv4",
    // Each server listens on its own port; one port entry per server makes every server's ip:port known.
    ports: list.map((s, i) => ({ name: `p${i}`, port: s.port, protocol: "TCP" })),
    endpoints: list.map((s) => ({ addresses: [s.ip], conditions: { ready: true, serving: true, terminating: false } })),
  };
}

function targetFor(server: ProbeServer, overrides: Partial<HealthCheckTarget> = {}): HealthCheckTarget {
  return {
    address: server.address,
    ip: server.ip,
    port: server.port,
    path: "/healthz",
    intervalMs: 20,
    timeoutMs: 1_000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    backendKey: "shop/web:80",
    ...overrides,
  };
}

async function waitFor(what: string, predicate: () => boolean, limitMs = 3_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function setup(list: ProbeServer[], schedule?: ProbeScheduler): {
  registry: EndpointRegistry;
  checker: ActiveHealthChecker;
  transitions: (HealthTransition & { requestsSoFar: number })[];
  lines: Record<string, unknown>[];
} {
  const registry = new EndpointRegistry();
  registry.applySlice(sliceFor(list));
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const checker = new ActiveHealthChecker({ registry, logger, random: () => 0.5, ...(schedule ? { schedule } : {}) });
  const transitions: (HealthTransition & { requestsSoFar: number })[] = [];
  checker.onTransition((t) => {
    const server = list.find((s) => s.address === t.address);
    transitions.push({ ...t, requestsSoFar: server?.requests.length ?? -1 });
  });
  return { registry, checker, transitions, lines };
}

/** Timers the test fires by hand, to count sessions by their pending probe. */
class ManualScheduler {
  readonly pending = new Map<number, () => void>();
  /** The delay each pending probe was scheduled with. */
  readonly delays = new Map<number, number>();
  #next = 0;
  readonly schedule: ProbeScheduler = (callback, delayMs) => {
    const id = this.#next++;
    this.pending.set(id, callback);
    this.delays.set(id, delayMs);
    return () => this.pending.delete(id) && this.delays.delete(id);
  };
  fireAll(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    this.delays.clear();
    for (const callback of due) callback();
  }
}

void test("an endpoint is flagged after unhealthyThreshold failed probes and cleared after healthyThreshold passes", async () => {
  const server = await startServer("127.0.0.20");
  const { registry, checker, transitions, lines } = setup([server]);
  server.mode = "fail";
  checker.update([targetFor(server)]);
  assert.equal(registry.health(server.address)?.failedActiveCheck ?? false, false, "new endpoints start healthy");

  await waitFor("failing", () => transitions.length === 1);
  assert.deepEqual(transitions[0], {
    address: server.address,
    backendKey: "shop/web:80",
    healthy: false,
    consecutive: 3,
    reason: "status 500",
    requestsSoFar: 3,
  });
  assert.equal(registry.health(server.address)?.failedActiveCheck, true);
  const warn = lines.find((l) => l.msg === "endpoint failed active health check");
  assert.equal(warn?.endpoint, server.address);
  assert.equal(warn?.backend, "shop/web:80");

  server.mode = "ok";
  await waitFor("passing", () => transitions.length === 2);
  assert.equal(transitions[1]?.healthy, true);
  assert.equal(transitions[1]?.consecutive, 2);
  assert.ok(transitions[1].requestsSoFar >= 5, "at least 3 failures then 2 passes");
  assert.equal(registry.health(server.address)?.failedActiveCheck, false);
  checker.stop();
});

void test("probes are plain GETs of the path with Host = the endpoint address and the turnout user agent", async () => {
  const server = await startServer("127.0.0.21");
  const { checker } = setup([server]);
  checker.update([targetFor(server, { path: "/ready?deep=1" })]);
  await waitFor("a probe", () => server.requests.length >= 1);
  checker.stop();
  const probe = server.requests[0]!;
  assert.equal(probe.method, "GET");
  assert.equal(probe.url, "/ready?deep=1");
  assert.equal(probe.headers.host, server.address);
  assert.equal(probe.headers["user-agent"], "turnout-health-check");
  assert.equal(probe.headers.connection, "close");
});

void test("a probe that times out counts as a failure", async () => {
  const server = await startServer("127.0.0.22");
  server.mode = "hang";
  const { registry, checker, transitions } = setup([server]);
  checker.update([targetFor(server, { timeoutMs: 30, unhealthyThreshold: 2 })]);
  await waitFor("failing", () => transitions.length === 1);
  checker.stop();
  assert.equal(transitions[0]?.reason, "timed out after 30 ms");
  assert.equal(registry.health(server.address)?.failedActiveCheck, true);
});

void test("a refused connection counts as a failure", async () => {
  const server = await startServer("127.0.0.23");
  await server.close();
  const { registry, checker, transitions } = setup([server]);
  checker.update([targetFor(server, { unhealthyThreshold: 2 })]);
  await waitFor("failing", () => transitions.length === 1);
  checker.stop();
  assert.match(transitions[0]?.reason ?? "", /^ECONNREFUSED/);
  assert.equal(registry.health(server.address)?.failedActiveCheck, true);
});

void test("an endpoint targeted twice gets one session, with the shortest interval", async () => {
  const server = await startServer("127.0.0.24");
  const scheduler = new ManualScheduler();
  const { checker } = setup([server], scheduler.schedule);
  checker.update([targetFor(server, { intervalMs: 500, backendKey: "shop/a:80" }), targetFor(server, { intervalMs: 100, backendKey: "shop/b:80" })]);
  checker.update([targetFor(server, { intervalMs: 500, backendKey: "shop/a:80" }), targetFor(server, { intervalMs: 100, backendKey: "shop/b:80" })]);
  assert.deepEqual(
    checker.sessions().map((s) => [s.address, s.backendKey, s.intervalMs]),
    [[server.address, "shop/b:80", 100]],
  );
  assert.equal(scheduler.pending.size, 1, "one pending probe");
  scheduler.fireAll();
  await waitFor("the next probe to be scheduled", () => scheduler.pending.size === 1);
  assert.equal(server.requests.length, 1, "one probe per round, not one per route");
  checker.stop();
  assert.equal(scheduler.pending.size, 0);
});

void test("a shorter interval takes effect at once, not after the probe the longer one scheduled", async () => {
  const server = await startServer("127.0.0.24");
  const scheduler = new ManualScheduler();
  const { checker } = setup([server], scheduler.schedule);
  checker.update([targetFor(server, { intervalMs: 30_000 })]);
  assert.deepEqual([...scheduler.delays.values()], [15_000]);
  checker.update([targetFor(server, { intervalMs: 200 })]);
  assert.deepEqual([...scheduler.delays.values()], [100], "one pending probe, within the new interval");
  checker.update([targetFor(server, { intervalMs: 30_000 })]);
  assert.deepEqual([...scheduler.delays.values()], [100], "a longer interval applies from the next probe on");
  checker.stop();
  await server.close();
});

void test("sessions of endpoints no longer targeted stop: no more probes, and their flag is cleared", async () => {
  const keep = await startServer("127.0.0.25");
  const gone = await startServer("127.0.0.26");
  gone.mode = "fail";
  const { registry, checker, transitions } = setup([keep, gone]);
  checker.update([targetFor(keep), targetFor(gone, { unhealthyThreshold: 1 })]);
  await waitFor("failing", () => transitions.some((t) => t.address === gone.address));
  assert.equal(registry.health(gone.address)?.failedActiveCheck, true);

  checker.update([targetFor(keep)]);
  assert.equal(registry.health(gone.address)?.failedActiveCheck, false, "nobody checks it now, so it takes traffic");
  assert.deepEqual(checker.sessions().map((s) => s.address), [keep.address]);
  // A probe already on the wire when the session stopped may still land; none may follow.
  const keepAtStop = keep.requests.length;
  await waitFor("the kept endpoint to be probed twice more", () => keep.requests.length >= keepAtStop + 2);
  const probesAfterStop = gone.requests.length;
  const keepBefore = keep.requests.length;
  await waitFor("the kept endpoint to be probed 4 more times", () => keep.requests.length >= keepBefore + 4);
  assert.equal(gone.requests.length, probesAfterStop, "the stopped session sent no probe");
  checker.stop();
});

void test("stop() aborts a probe in flight and schedules nothing more", async () => {
  const server = await startServer("127.0.0.27");
  server.mode = "hang";
  const { registry, checker } = setup([server]);
  checker.update([targetFor(server, { timeoutMs: 2_000, unhealthyThreshold: 1 })]);
  await waitFor("a probe in flight", () => server.requests.length === 1);
  checker.stop();
  assert.deepEqual(checker.sessions(), []);
  await sleep(60);
  assert.equal(server.requests.length, 1);
  assert.equal(registry.health(server.address)?.failedActiveCheck ?? false, false, "an aborted probe is not a failure");
  assert.deepEqual(checker.stats(), { probesTotal: 0, probeFailuresTotal: 0 });
});

void test("a re-targeted endpoint keeps a flag it still has until probes clear it", async () => {
  const server = await startServer("127.0.0.28");
  const scheduler = new ManualScheduler();
  const { registry, checker, transitions } = setup([server], scheduler.schedule);
  registry.setFailedActiveCheck(server.address, true);
  checker.update([targetFor(server, { healthyThreshold: 1 })]);
  assert.equal(checker.sessions()[0]?.failing, true);
  scheduler.fireAll();
  await waitFor("passing", () => transitions.length === 1);
  assert.equal(registry.health(server.address)?.failedActiveCheck, false);
  checker.stop();
});

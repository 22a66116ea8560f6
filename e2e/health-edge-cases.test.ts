// Health and resilience edge cases an operator runs into: health-check paths that
// redirect, 404 or hang, flapping endpoints, panic mode, shared Services with
// different check settings, readiness resets, retry targets and non-idempotent
// requests, the at-most-half ejection rule, invalid health-check annotations.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { startKubeApiServer } from "./kube-api-server/harness.ts";
import type { KubeApiServerHandle } from "./kube-api-server/harness.ts";
import { TurnoutProcess, sleep } from "./support/turnout-process.ts";
import type { HttpResult } from "./support/turnout-process.ts";
import { FAST_HEALTH_CHECKS, endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

/** What a probe-aware upstream answers on its health path. */
type HealthMode = { kind: "status"; status: number } | { kind: "hang" } | { kind: "alternate" };

interface Probe {
  path: string;
  host: string | undefined;
  userAgent: string | undefined;
  at: number;
}

/** An upstream that answers traffic with its name and health checks (User-Agent turnout-health-check) as told. */
interface Upstream {
  name: string;
  ip: string;
  port: number;
  address: string;
  health: HealthMode;
  /** Status for traffic (200 by default). */
  trafficStatus: number;
  trafficHits: number;
  probes: Probe[];
  /** Most probes open at the same time. */
  maxConcurrentProbes: number;
  close(): Promise<void>;
}

async function startUpstream(name: string, ip: string, port: number): Promise<Upstream> {
  const sockets = new Set<Socket>();
  let openProbes = 0;
  let alternate = 0;
  const u: Upstream = {
    name,
    ip,
    port,
    address: "",
    health: { kind: "status", status: 200 },
    trafficStatus: 200,
    trafficHits: 0,
    probes: [],
    maxConcurrentProbes: 0,
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.headers["user-agent"] === "turnout-health-check") {
      u.probes.push({ path: req.url ?? "", host: req.headers.host, userAgent: req.headers["user-agent"], at: Date.now() });
      openProbes++;
      u.maxConcurrentProbes = Math.max(u.maxConcurrentProbes, openProbes);
      res.on("close", () => openProbes--);
      const mode = u.health;
      if (mode.kind === "hang") return; // never answers; turnout's timeout must cut it
      const status = mode.kind === "status" ? mode.status : alternate++ % 2 === 0 ? 200 : 503;
      res.writeHead(status, status >= 300 && status < 400 ? { location: "/elsewhere" } : {});
      res.end("health");
      return;
    }
    req.on("end", () => {
      u.trafficHits++;
      res.writeHead(u.trafficStatus, { "content-type": "application/json", "x-upstream": name });
      res.end(JSON.stringify({ upstream: name, method: req.method }));
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => resolve());
  });
  u.port = (server.address() as AddressInfo).port;
  u.address = `${ip}:${u.port}`;
  u.close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return u;
}

/** Upstreams on several loopback IPs sharing one (ephemeral) port, like the pods behind one Service port. */
async function startFleet(prefix: string, ips: readonly string[]): Promise<Upstream[]> {
  for (let attempt = 0; ; attempt++) {
    const first = await startUpstream(`${prefix}1`, ips[0]!, 0);
    const all = [first];
    try {
      for (let i = 1; i < ips.length; i++) all.push(await startUpstream(`${prefix}${i + 1}`, ips[i]!, first.port));
      return all;
    } catch (error) {
      await Promise.all(all.map((u) => u.close()));
      if (attempt >= 5) throw error;
    }
  }
}

const IPS = ["127.0.0.90", "127.0.0.91", "127.0.0.92", "127.0.0.93"];
/** Nothing listens here: connections are refused. */
const DEAD_IP = "127.0.0.99";

let api: KubeApiServerHandle;
let turnout: TurnoutProcess;
const fleets: Upstream[][] = [];

async function fleet(prefix: string, count = 2): Promise<Upstream[]> {
  const f = await startFleet(prefix, IPS.slice(0, count));
  fleets.push(f);
  return f;
}

function by(res: HttpResult): string {
  return res.status === 200 ? (JSON.parse(res.body) as { upstream: string }).upstream : `status ${res.status}`;
}

async function tally(host: string, n: number, options: { method?: string } = {}): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const who = by(await turnout.request(host, "/", options));
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return counts;
}

/** A Service `name` with the fleet's endpoints and an Ingress `name` for host `<name>.test`; waits until it answers. */
async function expose(name: string, upstreams: readonly Upstream[], annotations: Record<string, string>, extraIps: string[] = []): Promise<string> {
  const host = `${name}.test`;
  await api.client.apply(service(name));
  const ips = [...upstreams.map((u) => ({ ip: u.ip })), ...extraIps.map((ip) => ({ ip }))];
  await api.client.apply(endpointSlice(`${name}-1`, name, upstreams[0]!.port, ips));
  await api.client.apply(ingress({ name, host, annotations, paths: [{ path: "/", service: name, port: 80 }] }));
  await turnout.waitUntil(async () => (await turnout.request(host, "/")).status !== 404, 5000, `${host} routed`);
  return host;
}

const failedCheck = (u: Upstream) => (l: { msg: string; endpoint?: unknown }) => l.msg === "endpoint failed active health check" && l.endpoint === u.address;
const passedAgain = (u: Upstream) => (l: { msg: string; endpoint?: unknown }) => l.msg === "endpoint passed active health check again" && l.endpoint === u.address;

before(async () => {
  api = await startKubeApiServer();
  await api.client.apply(ingressClass());
  turnout = await TurnoutProcess.start({ kubeconfig: api.kubeconfigPath });
});

after(async () => {
  await turnout?.stop();
  await Promise.all(fleets.flat().map((u) => u.close()));
  await api?.stop();
});

test("a health path answering 302 keeps the endpoint in rotation; 404 takes it out, with the status as reason", async () => {
  const [a1, a2] = await fleet("redir");
  const host = await expose("redir", [a1!, a2!], FAST_HEALTH_CHECKS);
  a1!.health = { kind: "status", status: 302 };
  const since = a1!.probes.length;
  await turnout.waitUntil(() => a1!.probes.length >= since + 4, 3000, "four probes answered 302");
  assert.equal(turnout.logs.find(failedCheck(a1!)), undefined, "a redirect passes the check");
  assert.ok(((await tally(host, 10)).get("redir1") ?? 0) >= 4, "302-answering endpoint still takes traffic");
  // The probe is what the docs promise: GET <path>, Host ip:traffic-port, our User-Agent.
  const probe = a1!.probes.at(-1)!;
  assert.equal(probe.path, "/healthz");
  assert.equal(probe.host, a1!.address);

  a1!.health = { kind: "status", status: 404 };
  const line = await turnout.waitForLog(failedCheck(a1!), 3000);
  assert.match(String(line.reason), /404/);
  const counts = await tally(host, 20);
  assert.deepEqual([...counts], [["redir2", 20]]);
  a1!.health = { kind: "status", status: 200 };
  await turnout.waitForLog(passedAgain(a1!), 3000);
  await turnout.waitUntil(async () => ((await tally(host, 4)).get("redir1") ?? 0) > 0, 3000, "back in rotation");
});

test("a health path hanging past its timeout fails with a timeout reason, and checks of one endpoint never overlap", async () => {
  const [h1, h2] = await fleet("hang");
  const host = await expose("hang", [h1!, h2!], FAST_HEALTH_CHECKS);
  h1!.health = { kind: "hang" };
  const started = Date.now();
  const line = await turnout.waitForLog(failedCheck(h1!), 3000);
  assert.match(String(line.reason), /tim/i, `reason ${String(line.reason)}`);
  // Two probes of 200 ms (+10 %), each cut at 100 ms, plus slack.
  assert.ok(Date.now() - started < 2 * (220 + 100) + 500, `detected after ${Date.now() - started} ms`);
  assert.deepEqual([...(await tally(host, 10))], [["hang2", 10]]);
  const since = h1!.probes.length;
  await turnout.waitUntil(() => h1!.probes.length >= since + 3, 3000, "more hanging probes");
  assert.equal(h1!.maxConcurrentProbes, 1, "a hung probe is cut before the next one starts");
  h1!.health = { kind: "status", status: 200 };
  await turnout.waitForLog(passedAgain(h1!), 3000);
});

test("an endpoint flapping pass/fail on every probe never reaches a threshold of 2 and stays in rotation", async () => {
  const [f1, f2] = await fleet("flap");
  const host = await expose("flap", [f1!, f2!], FAST_HEALTH_CHECKS);
  f1!.health = { kind: "alternate" };
  const since = f1!.probes.length;
  await turnout.waitUntil(() => f1!.probes.length >= since + 6, 4000, "six flapping probes");
  assert.equal(turnout.logs.find(failedCheck(f1!)), undefined);
  assert.ok(((await tally(host, 10)).get("flap1") ?? 0) >= 4);
  f1!.health = { kind: "status", status: 200 };
});

test("every endpoint failing its check: panic mode sends traffic to all, logs it once, counts it, and logs leaving it", async () => {
  const [p1, p2] = await fleet("panic");
  const host = await expose("panic", [p1!, p2!], FAST_HEALTH_CHECKS);
  const backend = "default/panic:80";
  p1!.health = { kind: "status", status: 503 };
  p2!.health = { kind: "status", status: 503 };
  await turnout.waitForLog(failedCheck(p1!), 3000);
  await turnout.waitForLog(failedCheck(p2!), 3000);
  const counts = await tally(host, 40);
  assert.equal((counts.get("panic1") ?? 0) + (counts.get("panic2") ?? 0), 40, `no request refused in panic mode: ${JSON.stringify([...counts])}`);
  assert.ok((counts.get("panic1") ?? 0) >= 10 && (counts.get("panic2") ?? 0) >= 10, `traffic spread over all: ${JSON.stringify([...counts])}`);
  const entered = turnout.logs.filter((l) => l.msg.startsWith("backend in panic mode") && l.backend === backend);
  assert.equal(entered.length, 1, "entering panic mode is logged once");
  assert.equal(entered[0]!.level, "warn");
  const metrics = (await turnout.admin("/metrics")).body;
  assert.match(metrics, /^turnout_panic_mode_total(\{[^}]*\})? [1-9]/m);
  p1!.health = { kind: "status", status: 200 };
  await turnout.waitForLog(passedAgain(p1!), 3000);
  await tally(host, 2);
  await turnout.waitForLog((l) => l.msg === "backend left panic mode" && l.backend === backend, 2000);
  assert.deepEqual([...(await tally(host, 10))], [["panic1", 10]], "the healthy endpoint alone takes traffic after panic");
  p2!.health = { kind: "status", status: 200 };
});

test("two Ingresses checking one Service differently: the shortest interval (and its path) wins, probes run once", async () => {
  const [s1] = await fleet("shared", 1);
  await api.client.apply(service("shared"));
  await api.client.apply(endpointSlice("shared-1", "shared", s1!.port, [{ ip: s1!.ip }]));
  await api.client.apply(
    ingress({ name: "shared-slow", host: "shared-slow.test", annotations: { "turnout.dev/health-check-path": "/slow", "turnout.dev/health-check-interval": "30s" }, paths: [{ path: "/", service: "shared", port: 80 }] }),
  );
  await api.client.apply(
    ingress({ name: "shared-fast", host: "shared-fast.test", annotations: { "turnout.dev/health-check-path": "/fast", "turnout.dev/health-check-interval": "200ms" }, paths: [{ path: "/", service: "shared", port: 80 }] }),
  );
  await turnout.waitUntil(async () => (await turnout.request("shared-fast.test", "/")).status === 200, 5000, "routed");
  await turnout.waitUntil(() => s1!.probes.filter((p) => p.path === "/fast").length >= 5, 3000, "fast probes");
  assert.deepEqual([...new Set(s1!.probes.map((p) => p.path))], ["/fast"], "one check per endpoint, with the winning settings");
  const fast = s1!.probes.map((p) => p.at);
  for (let i = 1; i < fast.length; i++) assert.ok(fast[i]! - fast[i - 1]! >= 150, `probes ${fast[i]! - fast[i - 1]!} ms apart`);
});

test("an endpoint made not ready and ready again starts healthy; dropping the check annotation clears a failing flag at once", async () => {
  const [r1, r2] = await fleet("ready");
  const checks = { ...FAST_HEALTH_CHECKS, "turnout.dev/health-check-interval": "400ms", "turnout.dev/health-check-timeout": "100ms", "turnout.dev/health-check-unhealthy-threshold": "3" };
  const host = await expose("ready", [r1!, r2!], checks);
  const usable = async (u: Upstream): Promise<boolean | undefined> =>
    (await turnout.debugRoutes()).endpoints["default/ready:80"]?.find((e) => e.address === u.address)?.usable;
  r1!.health = { kind: "status", status: 500 };
  await turnout.waitForLog(failedCheck(r1!), 4000);
  assert.equal(await usable(r1!), false);
  await api.client.apply(endpointSlice("ready-1", "ready", r1!.port, [{ ip: r1!.ip, ready: false }, { ip: r2!.ip }]));
  await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/ready:80"]?.find((e) => e.address === r1!.address)?.ready === false, 3000, "not ready");
  await api.client.apply(endpointSlice("ready-1", "ready", r1!.port, [{ ip: r1!.ip }, { ip: r2!.ip }]));
  // Three failed probes 400 ms apart must pass before it is out again: it must be usable in between.
  await turnout.waitUntil(async () => (await usable(r1!)) === true, 1000, "ready again: starts healthy");
  await turnout.waitUntil(async () => (await usable(r1!)) === false, 4000, "failing again after the threshold");
  await api.client.apply(ingress({ name: "ready", host, annotations: { "turnout.dev/max-fails": "1000" }, paths: [{ path: "/", service: "ready", port: 80 }] }));
  await turnout.waitUntil(async () => (await usable(r1!)) === true, 3000, "no check, no flag");
  assert.ok(((await tally(host, 10)).get("ready1") ?? 0) >= 4);
});

test("retry-on 5xx: the retry goes to another endpoint, so one endpoint answering 500 costs no request", async () => {
  const [x1, x2, x3] = await fleet("retry5", 3);
  const host = await expose("retry5", [x1!, x2!, x3!], { "turnout.dev/retry-on": "5xx", "turnout.dev/retries": "1", "turnout.dev/max-fails": "1000" });
  x2!.trafficStatus = 500;
  const before = x2!.trafficHits;
  const counts = await tally(host, 60);
  assert.equal(counts.get("status 500"), undefined, `answers: ${JSON.stringify([...counts])}`);
  assert.ok(x2!.trafficHits - before >= 10, "the failing endpoint was tried");
  x2!.trafficStatus = 200;
});

test("POST with retry-on 5xx: a 500 is passed on, never replayed on another endpoint", async () => {
  const [y1, y2] = await fleet("post5", 2);
  const host = await expose("post5", [y1!, y2!], { "turnout.dev/retry-on": "5xx, reset", "turnout.dev/retries": "2", "turnout.dev/max-fails": "1000" });
  y1!.trafficStatus = 500;
  const hitsBefore = y1!.trafficHits + y2!.trafficHits;
  let fiveHundreds = 0;
  for (let i = 0; i < 20; i++) {
    const res = await turnout.request(host, "/", { method: "POST" });
    if (res.status === 500) {
      fiveHundreds++;
      assert.equal(res.headers["x-upstream"], "post51", "the upstream's own 500 reaches the client");
    } else assert.equal(res.status, 200);
  }
  assert.ok(fiveHundreds >= 5, `round robin sent ${fiveHundreds} of 20 POSTs to the failing endpoint`);
  assert.equal(y1!.trafficHits + y2!.trafficHits - hitsBefore, 20, "each POST executed exactly once");
  y1!.trafficStatus = 200;
});

for (const retryOn of ["connect-failure", "gateway-error"]) {
  test(`retry-on ${retryOn}: a POST to a refused endpoint is retried on another one (nothing reached the upstream)`, async () => {
    const [z1] = await fleet(`refused-${retryOn}-`, 1);
    const name = `refused-${retryOn}`;
    const host = await expose(name, [z1!], { "turnout.dev/retry-on": retryOn, "turnout.dev/retries": "1", "turnout.dev/max-fails": "1000" }, [DEAD_IP]);
    for (const method of ["GET", "POST"]) {
      const counts = await tally(host, 12, { method });
      const failures = turnout.logs.filter((l) => l.msg === "upstream request failed" && l.ref === `default/${name}`).slice(-2);
      assert.deepEqual([...counts], [[`${name}-1`, 12]], `${method}: ${JSON.stringify([...counts])}; ${failures.map((l) => JSON.stringify(l)).join(" ")}`);
    }
  });
}

test("maglev: adding an endpoint moves keys only to the new endpoint (near-minimal disruption)", async () => {
  const all = await fleet("mag", 4);
  const host = await expose("mag", all.slice(0, 3), { "turnout.dev/load-balance": "maglev", "turnout.dev/hash-by": "header:X-User" });
  const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const mapping = async (): Promise<Map<string, string>> => {
    const m = new Map<string, string>();
    for (const k of keys) m.set(k, by(await turnout.request(host, "/", { headers: { "x-user": k } })));
    return m;
  };
  const first = await mapping();
  assert.equal(new Set(first.values()).size, 3);
  await api.client.apply(endpointSlice("mag-1", "mag", all[0]!.port, all.map((u) => ({ ip: u.ip }))));
  await turnout.waitUntil(async () => (await turnout.debugRoutes()).endpoints["default/mag:80"]?.length === 4, 3000, "endpoint added");
  const second = await mapping();
  const toNew = keys.filter((k) => second.get(k) === "mag4").length;
  const shuffled = keys.filter((k) => second.get(k) !== "mag4" && second.get(k) !== first.get(k));
  assert.ok(toNew >= 20 && toNew <= 90, `${toNew} of 200 keys moved to the new endpoint (expected about 50)`);
  assert.ok(shuffled.length <= 16, `${shuffled.length} of 200 keys moved between endpoints that stayed`);
});

test("fail-on-5xx with every endpoint failing: at most half is ejected, once, and the rest keeps taking traffic", async () => {
  const [e1, e2] = await fleet("eject", 2);
  const host = await expose("eject", [e1!, e2!], { "turnout.dev/fail-on-5xx": "true", "turnout.dev/max-fails": "2", "turnout.dev/retries": "0" });
  e1!.trafficStatus = 500;
  e2!.trafficStatus = 500;
  await tally(host, 12);
  const ejections = turnout.logs.filter((l) => l.msg === "endpoint ejected after consecutive failures" && (l.endpoint === e1!.address || l.endpoint === e2!.address));
  assert.equal(ejections.length, 1, "one of two endpoints may be ejected");
  assert.equal(ejections[0]!.ejectedForMs, 30_000);
  const ejected = ejections[0]!.endpoint === e1!.address ? "eject1" : "eject2";
  const kept = ejected === "eject1" ? "eject2" : "eject1";
  e1!.trafficStatus = 200;
  e2!.trafficStatus = 200;
  assert.deepEqual([...(await tally(host, 10))], [[kept, 10]], "the ejected endpoint stays out for its ejection time");
});

test("an invalid health-check annotation is reported by name and reason; the Ingress's other routes and others keep working", async () => {
  const [v1] = await fleet("invalid", 1);
  const host = await expose("invalid", [v1!], {});
  await api.client.apply(
    ingress({ name: "invalid", host, annotations: { "turnout.dev/health-check-path": "/healthz", "turnout.dev/health-check-interval": "1s", "turnout.dev/health-check-timeout": "3s" }, paths: [{ path: "/", service: "invalid", port: 80 }] }),
  );
  const line = await turnout.waitForLog((l) => l.reason === "InvalidAnnotation" && l.ref === "default/invalid", 5000);
  assert.match(String(line.msg), /health-check-timeout/);
  assert.match(String(line.msg), /interval/);
  for (let i = 0; i < 5; i++) assert.equal(by(await turnout.request(host, "/")), "invalid1", "the last valid version keeps serving");
  await sleep(1200);
  assert.equal(v1!.probes.length, 0, "the rejected settings are not applied");
});

// The forwarding path end to end (file mode, real sockets): error mapping,
// malformed requests, hop-by-hop headers, WebSocket upgrades, retries and
// timeouts, and graceful shutdown under load.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { WebSocket } from "ws";
import { TurnoutProcess, httpRequest } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";
import type { Manifest } from "./support/objects.ts";

let folder: string;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;

const IPS = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];
// Nothing listens on these addresses: connections are refused.
const DEAD_IP = "127.0.0.19";
const DEAD_IP_2 = "127.0.0.18";
const DEAD_IP_3 = "127.0.0.17";

function yaml(...docs: Manifest[]): string {
  return docs.map((d) => dump(d)).join("---\n");
}

/** Raw bytes on a fresh connection; resolves with everything the server sent back. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    socket.on("end", () => resolve(received));
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("raw exchange timed out")));
  });
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "turnout-proxy-"));
  fleet = await startEchoFleet(["p1", "p2", "p3"], IPS);
  const port = fleet[0]!.port;
  const paths = [
    { path: "/", service: "pool", port: 80 },
    { path: "/slow", service: "slow", port: 80 },
    { path: "/dead", service: "dead", port: 80 },
    { path: "/empty", service: "empty", port: 80 },
    { path: "/mixed", service: "mixed", port: 80 },
  ];
  await writeFile(
    join(folder, "all.yaml"),
    yaml(
      ingressClass("turnout", true),
      ...["pool", "slow", "dead", "empty", "mixed", "mixed-no-retry", "mixed-ejection"].map((s) => service(s)),
      endpointSlice("pool-1", "pool", port, IPS.map((ip) => ({ ip }))),
      endpointSlice("slow-1", "slow", port, [{ ip: IPS[2]! }]),
      endpointSlice("dead-1", "dead", port, [{ ip: DEAD_IP }]),
      endpointSlice("empty-1", "empty", port, []),
      endpointSlice("mixed-1", "mixed", port, [{ ip: DEAD_IP }, { ip: IPS[0]! }]),
      endpointSlice("mixed-no-retry-1", "mixed-no-retry", port, [{ ip: DEAD_IP_2 }, { ip: IPS[0]! }]),
      endpointSlice("mixed-ejection-1", "mixed-ejection", port, [{ ip: DEAD_IP_3 }, { ip: IPS[0]! }]),
      ingress({ name: "main", host: "proxy.test", paths }),
      ingress({ name: "slow-timeout", host: "timeout.test", annotations: { "turnout.dev/read-timeout": "300ms" }, paths: [{ path: "/", service: "slow", port: 80 }] }),
      ingress({ name: "no-retry", host: "noretry.test", annotations: { "turnout.dev/retries": "0" }, paths: [{ path: "/", service: "mixed-no-retry", port: 80 }] }),
      ingress({ name: "ejection", host: "ejection.test", annotations: { "turnout.dev/retries": "0", "turnout.dev/max-fails": "3" }, paths: [{ path: "/", service: "mixed-ejection", port: 80 }] }),
    ),
  );
  turnout = await TurnoutProcess.start({ manifests: folder });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await rm(folder, { recursive: true, force: true });
});

describe("error mapping", () => {
  const cases: [string, string, string, number, string][] = [
    ["no route", "nowhere.test", "/", 404, "TURNOUT_ERR_NO_ROUTE"],
    ["no endpoints", "proxy.test", "/empty", 503, "TURNOUT_ERR_NO_ENDPOINTS"],
    ["connection refused", "proxy.test", "/dead", 502, "TURNOUT_ERR_UPSTREAM_CONNECT"],
  ];
  for (const [name, host, path, status, code] of cases) {
    test(`${name} -> ${status} ${code}`, async () => {
      const res = await turnout.request(host, path);
      assert.equal(res.status, status);
      assert.equal(res.headers["x-turnout-error"], code);
      assert.equal(res.headers["content-type"], "text/plain; charset=utf-8");
      assert.match(res.body, new RegExp(`^${code}: `));
    });
  }

  test("read timeout -> 504", async () => {
    fleet[2]!.delayMs = 1000;
    try {
      const res = await turnout.request("timeout.test", "/");
      assert.equal(res.status, 504);
      assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_UPSTREAM_TIMEOUT");
    } finally {
      fleet[2]!.delayMs = 0;
    }
  });

  test("a refused connection is retried on another endpoint; with retries 0 it is not", async () => {
    for (let i = 0; i < 6; i++) assert.equal((await turnout.request("proxy.test", "/mixed")).status, 200);
    const statuses = new Set<number>();
    for (let i = 0; i < 6; i++) statuses.add((await turnout.request("noretry.test", "/")).status);
    assert.deepEqual([...statuses].sort(), [200, 502]);
  });
});

describe("HTTP hygiene", () => {
  test("a malformed request gets 400 on its own connection; other connections are served", async () => {
    const answer = await rawExchange(turnout.httpPort, "GET / HTTP/1.1\r\nHost proxy.test\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /TURNOUT_ERR_BAD_REQUEST/);
    assert.equal((await turnout.request("proxy.test", "/")).status, 200);
  });

  test("hop-by-hop request headers are not forwarded", async () => {
    const res = await turnout.request("proxy.test", "/", { headers: { connection: "keep-alive, x-secret", "x-secret": "1", "proxy-authorization": "Basic x", te: "trailers" } });
    const echoed = (JSON.parse(res.body) as { headers: Record<string, string> }).headers;
    assert.equal(echoed["x-secret"], undefined);
    assert.equal(echoed["proxy-authorization"], undefined);
    assert.equal(echoed.te, undefined);
  });

  test("response hop-by-hop headers from the upstream are not passed on", async () => {
    const res = await turnout.request("proxy.test", "/");
    assert.equal(res.headers["keep-alive"] === "timeout=5", false, "the upstream's keep-alive header is its own hop");
  });

  test("request bodies are streamed to the upstream", async () => {
    const body = "x".repeat(200_000);
    const res = await turnout.request("proxy.test", "/upload", { method: "POST", body, headers: { "content-type": "text/plain" } });
    assert.equal((JSON.parse(res.body) as { body: string }).body.length, body.length);
  });

  test("WebSocket upgrades are proxied", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${turnout.httpPort}/chat`, { headers: { host: "proxy.test" } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on("open", () => ws.send("hello"));
      ws.on("message", (data: Buffer) => resolve(data.toString("utf8")));
      ws.on("error", reject);
    });
    ws.close();
    assert.match(reply, /^p[123]:hello$/);
  });
});

describe("availability", () => {
  test("passive health: after max-fails consecutive failures a dead endpoint is ejected and takes no more traffic", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await turnout.request("ejection.test", "/")).status);
    const failed = statuses.filter((s) => s !== 200).length;
    assert.equal(failed, 3, `exactly max-fails requests fail before the ejection: ${statuses.join(",")}`);
    assert.ok(statuses.slice(-30).every((s) => s === 200), "none after it");
  });

  test("killing one of three upstreams under a steady request loop causes no client-visible error", async () => {
    const failures: string[] = [];
    let stop = false;
    let sent = 0;
    const loop = async (): Promise<void> => {
      while (!stop && sent < 3000) {
        sent++;
        const res = await turnout.request("proxy.test", "/steady");
        if (res.status !== 200) failures.push(`${res.status} ${res.body.trim()}`);
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    await new Promise((r) => setTimeout(r, 200));
    await fleet[1]!.kill();
    await new Promise((r) => setTimeout(r, 600));
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed: ${failures.join("; ")}`);
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM under load: readiness fails at once, accepted requests all complete, exit 0", async () => {
    const own = await TurnoutProcess.start({ manifests: folder, args: ["--shutdown-delay", "300ms", "--shutdown-grace", "5s"] });
    const slow = fleet[2]!;
    slow.delayMs = 400;
    try {
      const inFlight = Array.from({ length: 8 }, () => httpRequest({ port: own.httpPort, path: "/slow", method: "GET", headers: { host: "proxy.test" }, agent: false }));
      await new Promise((r) => setTimeout(r, 100));
      own.signal("SIGTERM");
      await own.waitUntil(async () => (await own.admin("/readyz")).status === 503, 1000, "readiness to fail");
      const results = await Promise.all(inFlight);
      assert.deepEqual(results.map((r) => r.status), Array(8).fill(200));
      assert.equal(await own.exited, 0);
    } finally {
      slow.delayMs = 0;
      await own.stop();
    }
  });
});

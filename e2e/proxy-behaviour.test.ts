// The forwarding path end to end (file mode, real sockets): error mapping,
// malformed requests, request targets, hop-by-hop headers, streaming bodies both ways, responses
// without body, WebSocket upgrades, retries (5xx, the keep-alive race) and
// timeouts, and graceful shutdown under load. TURNOUT_PROXY_ENGINE picks the engine.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { WebSocket } from "ws";
import { TurnoutProcess, answeredBy, httpRequest } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";
import { ODD_IP, RACY_FIN_IP, RACY_RST_IP, SPECIAL_IPS, gate, startSpecialUpstreams } from "./support/special-upstreams.ts";
import { rawBody, rawExchange } from "./support/raw-http.ts";
import type { SpecialUpstreams } from "./support/special-upstreams.ts";
import type { Manifest } from "./support/objects.ts";

let folder: string;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let special: SpecialUpstreams;

const IPS = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];
// Nothing listens on these addresses: connections are refused.
const DEAD_IP = "127.0.0.19";
const DEAD_IP_2 = "127.0.0.18";
const DEAD_IP_3 = "127.0.0.17";
// Nothing listens here either; only the upgrade ejection test uses it.
const DEAD_WS_IP = "127.0.0.8";

function yaml(...docs: Manifest[]): string {
  return docs.map((d) => dump(d)).join("---\n");
}

/** A request through turnout with full control over the body stream; resolves with status, headers and body. */
function streamRequest(
  options: { host: string; path: string; method?: string; headers?: Record<string, string> },
  send: (req: http.ClientRequest) => void,
  onData?: (chunk: Buffer, res: http.IncomingMessage) => void,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: turnout.httpPort, path: options.path, method: options.method ?? "GET", headers: { host: options.host, ...options.headers }, agent: false, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          onData?.(chunk, res);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    send(req);
  });
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "turnout-proxy-"));
  fleet = await startEchoFleet(["p1", "p2", "p3"], IPS);
  const port = fleet[0]!.port;
  special = await startSpecialUpstreams(port);
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
      ...["pool", "slow", "dead", "empty", "mixed", "mixed-no-retry", "mixed-ejection", "special", "special-pair", "racy-fin", "racy-rst"].map((s) => service(s)),
      endpointSlice("special-1", "special", port, [{ ip: SPECIAL_IPS[0]! }]),
      endpointSlice("special-pair-1", "special-pair", port, SPECIAL_IPS.map((ip) => ({ ip }))),
      endpointSlice("racy-fin-1", "racy-fin", port, [{ ip: RACY_FIN_IP }, { ip: IPS[0]! }]),
      endpointSlice("racy-rst-1", "racy-rst", port, [{ ip: RACY_RST_IP }, { ip: IPS[0]! }]),
      ingress({ name: "special", host: "special.test", paths: [{ path: "/", service: "special", port: 80 }] }),
      service("odd"),
      endpointSlice("odd-1", "odd", port, [{ ip: ODD_IP }]),
      ingress({ name: "odd", host: "odd.test", annotations: { "turnout.dev/retries": "0", "turnout.dev/read-timeout": "500ms", "turnout.dev/max-fails": "1000" }, paths: [{ path: "/", service: "odd", port: 80 }] }),
      ingress({ name: "sticky", host: "sticky.test", annotations: { "turnout.dev/affinity": "cookie" }, paths: [{ path: "/", service: "pool", port: 80 }] }),
      service("ws-mixed"),
      endpointSlice("ws-mixed-1", "ws-mixed", port, [{ ip: DEAD_WS_IP }, { ip: IPS[1]! }]),
      ingress({ name: "ws-ejection", host: "ws-ejection.test", annotations: { "turnout.dev/max-fails": "2", "turnout.dev/load-balance": "round-robin" }, paths: [{ path: "/", service: "ws-mixed", port: 80 }] }),
      ingress({ name: "send-timeout", host: "send-timeout.test", annotations: { "turnout.dev/send-timeout": "300ms" }, paths: [{ path: "/", service: "special", port: 80 }] }),
      ingress({ name: "retry-5xx", host: "retry-5xx.test", annotations: { "turnout.dev/retry-on": "5xx" }, paths: [{ path: "/", service: "special-pair", port: 80 }] }),
      ingress({ name: "no-retry-5xx", host: "no-retry-5xx.test", paths: [{ path: "/", service: "special-pair", port: 80 }] }),
      ingress({ name: "racy-fin", host: "racy-fin.test", annotations: { "turnout.dev/max-fails": "1000" }, paths: [{ path: "/", service: "racy-fin", port: 80 }] }),
      ingress({ name: "racy-rst", host: "racy-rst.test", annotations: { "turnout.dev/max-fails": "1000" }, paths: [{ path: "/", service: "racy-rst", port: 80 }] }),
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
  await special?.close();
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

  test("an upgrade the upstream declines gets the upstream's answer", async () => {
    const answer = await rawExchange(turnout.httpPort, "GET /chat HTTP/1.1\r\nHost: proxy.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 /, "ws rejects an upgrade without Sec-WebSocket-Key");
  });

  test("an upgrade to an unreachable endpoint gets 502 TURNOUT_ERR_UPSTREAM_CONNECT", async () => {
    const answer = await rawExchange(turnout.httpPort, "GET /dead HTTP/1.1\r\nHost: proxy.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 502 /);
    assert.match(answer, /x-turnout-error: TURNOUT_ERR_UPSTREAM_CONNECT/);
  });
});

/** Opens a WebSocket through turnout, sends one message and resolves with the reply ("p1:hello"). */
function websocketEcho(host: string, headers: Record<string, string> = {}): Promise<string> {
  const ws = new WebSocket(`ws://127.0.0.1:${turnout.httpPort}/chat`, { headers: { host, ...headers } });
  return new Promise<string>((resolve, reject) => {
    ws.on("open", () => ws.send("hello"));
    ws.on("message", (data: Buffer) => {
      resolve(data.toString("utf8"));
      ws.close();
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`upgrade answered ${res.statusCode} ${String(res.headers["x-turnout-error"])}`)));
    ws.on("error", reject);
  });
}

describe("request targets and forwarded headers", () => {
  test("an absolute-form target is routed by its authority and forwarded in origin-form with that Host", async () => {
    const answer = await rawExchange(turnout.httpPort, "GET http://proxy.test/items?id=7 HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: close\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const echoed = JSON.parse(rawBody(answer)) as { url: string; headers: Record<string, string> };
    assert.equal(echoed.url, "/items?id=7");
    assert.equal(echoed.headers.host, "proxy.test");
  });

  for (const target of ["*", "proxy.test:80", "items", "http://user@proxy.test/"]) {
    test(`request target "${target}" gets 400 TURNOUT_ERR_BAD_REQUEST`, async () => {
      const answer = await rawExchange(turnout.httpPort, `OPTIONS ${target} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.match(answer, /x-turnout-error: TURNOUT_ERR_BAD_REQUEST/);
    });
  }

  test("a request with two Host headers gets 400 (RFC 9112 3.2): which one to route by is ambiguous", async () => {
    const answer = await rawExchange(turnout.httpPort, "GET / HTTP/1.1\r\nHost: proxy.test\r\nHost: elsewhere.test\r\nConnection: close\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /x-turnout-error: TURNOUT_ERR_BAD_REQUEST/);
  });

  test("an Expect other than 100-continue gets 417 TURNOUT_ERR_EXPECTATION_FAILED; 100-continue gets 100, then the upstream's answer", async () => {
    const refused = await rawExchange(turnout.httpPort, "POST /items HTTP/1.1\r\nHost: proxy.test\r\nExpect: teapot\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    assert.match(refused, /^HTTP\/1\.1 417 /);
    assert.match(refused, /x-turnout-error: TURNOUT_ERR_EXPECTATION_FAILED/);
    const accepted = await rawExchange(turnout.httpPort, "POST /items HTTP/1.1\r\nHost: proxy.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    assert.match(accepted, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });

  test("X-Forwarded-Port is the port the client addressed: the Host's, else the scheme's default", async () => {
    const portOf = async (host: string): Promise<string | undefined> =>
      (JSON.parse((await turnout.request(host, "/")).body) as { headers: Record<string, string> }).headers["x-forwarded-port"];
    assert.equal(await portOf("proxy.test"), "80");
    assert.equal(await portOf("proxy.test:8443"), "8443");
    assert.equal((await turnout.request("proxy.test:http", "/")).status, 400, "a Host whose port is not a number");
  });

  test("a malformed request pipelined behind a slow one: the slow response arrives whole first, then the 400", async () => {
    fleet[2]!.delayMs = 300;
    try {
      const answer = await rawExchange(turnout.httpPort, "GET /slow HTTP/1.1\r\nHost: proxy.test\r\n\r\nGET / HTTP/1.1\r\nHost proxy.test\r\n\r\n");
      assert.match(answer, /^HTTP\/1\.1 200 /);
      const second = answer.indexOf("HTTP/1.1 400 ");
      assert.ok(second > 0, "the 400 follows");
      assert.equal((JSON.parse(rawBody(answer.slice(0, second))) as { url: string }).url, "/slow", "the first response's body is whole");
    } finally {
      fleet[2]!.delayMs = 0;
    }
  });
});

describe("upstream oddities", () => {
  test("interim responses (102, 103) do not end the exchange; 103's Link reaches the client before the final answer", async () => {
    const interim: { status: number; link: string | undefined }[] = [];
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: turnout.httpPort, path: "/interim", headers: { host: "special.test" }, agent: false, timeout: 5000 }, (response) => {
        let body = "";
        response.on("data", (d: Buffer) => (body += d.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
      req.on("information", (info) => interim.push({ status: info.statusCode, link: info.headers.link as string | undefined }));
      req.on("timeout", () => req.destroy(new Error("request timed out")));
      req.on("error", reject);
      req.end();
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, "final");
    assert.deepEqual(interim, [{ status: 103, link: "</app.css>; rel=preload; as=style" }]);
  });

  test("a status code outside 100-599 gets 502 TURNOUT_ERR_UPSTREAM_PROTOCOL", async () => {
    const res = await turnout.request("odd.test", "/status-099");
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_UPSTREAM_PROTOCOL");
  });

  test("an answer that is not HTTP gets 502 TURNOUT_ERR_UPSTREAM_PROTOCOL", async () => {
    const res = await turnout.request("odd.test", "/not-http");
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_UPSTREAM_PROTOCOL");
  });

  test("a reason phrase with non-ASCII bytes is replaced by the standard one; status and body pass", async () => {
    const answer = await rawExchange(turnout.httpPort, "GET /latin1-reason HTTP/1.1\r\nHost: odd.test\r\nConnection: close\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(answer.endsWith("\r\n\r\nok"), answer);
  });
});

describe("upgrades", () => {
  test("an upgrade the upstream never answers gets 504 after the read timeout", async () => {
    const answer = await rawExchange(turnout.httpPort, "GET /hang HTTP/1.1\r\nHost: odd.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 504 /);
    assert.match(answer, /x-turnout-error: TURNOUT_ERR_UPSTREAM_TIMEOUT/);
  });

  test("an upgrade with a sticky-session cookie goes to the endpoint the cookie names", async () => {
    const first = await turnout.request("sticky.test", "/");
    const cookie = String(first.headers["set-cookie"]?.[0]).split(";")[0]!;
    const pinned = answeredBy(first);
    for (let i = 0; i < 8; i++) assert.equal(await websocketEcho("sticky.test", { cookie }), `${pinned}:hello`);
  });

  test("upgrades count in passive health: a dead endpoint is ejected after max-fails failed upgrades", async () => {
    const results: string[] = [];
    for (let i = 0; i < 12; i++) results.push(await websocketEcho("ws-ejection.test").catch((error: Error) => error.message));
    const failures = results.filter((r) => !r.startsWith("p2:"));
    assert.equal(failures.length, 2, `failed upgrades: ${JSON.stringify(results)}`);
    assert.ok(failures.every((f) => f.includes("TURNOUT_ERR_UPSTREAM_CONNECT")), JSON.stringify(failures));
    assert.ok(results.slice(-8).every((r) => r === "p2:hello"), "after the ejection every upgrade reaches the live endpoint");
  });
});

describe("bodies", () => {
  test("a response body is streamed: the client has the first bytes while the upstream is still sending", async () => {
    special.streamGate = gate();
    const res = await streamRequest({ host: "special.test", path: "/stream" }, (req) => req.end(), (chunk) => {
      if (chunk.toString().includes("first-chunk")) special.streamGate.release();
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), "first-chunk\nlast-chunk\n");
  });

  test("a chunked upload is streamed: the upstream has the first chunk before the client sends the rest", async () => {
    const firstChunkArrived = gate();
    special.onFirstUploadChunk = firstChunkArrived.release;
    const res = await streamRequest({ host: "special.test", path: "/count", method: "POST", headers: { "content-type": "text/plain" } }, (req) => {
      req.write("a".repeat(1000));
      void firstChunkArrived.wait.then(() => req.end("b".repeat(1000)));
    });
    const counted = JSON.parse(res.body.toString()) as { bytes: number; chunked: boolean };
    assert.equal(res.status, 200);
    assert.equal(counted.bytes, 2000);
    assert.equal(counted.chunked, true, "a body of unknown length goes upstream chunked");
  });

  test("large bodies pass both ways intact (8 MB up with Content-Length, 24 MB down chunked)", async () => {
    const upload = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < upload.length; i++) upload[i] = (i * 7) & 0xff;
    const up = await streamRequest({ host: "special.test", path: "/count", method: "POST", headers: { "content-length": String(upload.length) } }, (req) => req.end(upload));
    assert.deepEqual(JSON.parse(up.body.toString()), { bytes: upload.length, sha256: createHash("sha256").update(upload).digest("hex"), chunked: false });
    const down = await streamRequest({ host: "special.test", path: `/bytes/${24 * 1024 * 1024}` }, (req) => req.end());
    assert.equal(down.status, 200);
    assert.equal(down.body.length, 24 * 1024 * 1024);
    assert.ok(down.body.every((byte) => byte === 0x61));
  });

  test("one keep-alive connection carries pipelined requests with and without a body, each body whole", async () => {
    const upload = "x".repeat(10);
    const answer = await rawExchange(turnout.httpPort,
      "GET /count HTTP/1.1\r\nHost: special.test\r\n\r\n" +
      `POST /count HTTP/1.1\r\nHost: special.test\r\nContent-Length: ${upload.length}\r\n\r\n${upload}` +
      "POST /count HTTP/1.1\r\nHost: special.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
      "GET /count HTTP/1.1\r\nHost: special.test\r\nConnection: close\r\n\r\n");
    assert.deepEqual([...answer.matchAll(/"bytes":(\d+)/g)].map((m) => Number(m[1])), [0, 10, 3, 0]);
  });

  test("HEAD, 204 and 304 answers carry no body; their headers pass", async () => {
    const head = await streamRequest({ host: "special.test", path: "/bytes/1000", method: "HEAD" }, (req) => req.end());
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], "1000");
    assert.equal(head.body.length, 0);
    const noContent = await streamRequest({ host: "special.test", path: "/status/204" }, (req) => req.end());
    assert.deepEqual([noContent.status, noContent.body.length, noContent.headers["x-upstream"]], [204, 0, "s1"]);
    const notModified = await streamRequest({ host: "special.test", path: "/status/304", headers: { "if-none-match": '"v1"' } }, (req) => req.end());
    assert.deepEqual([notModified.status, notModified.body.length, notModified.headers.etag], [304, 0, '"v1"']);
  });

  test("a client that stops sending its body within send-timeout gets 504", async () => {
    const res = await streamRequest({ host: "send-timeout.test", path: "/count", method: "POST", headers: { "content-length": "100" } }, (req) => req.write("only part"));
    assert.equal(res.status, 504);
    assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_UPSTREAM_TIMEOUT");
  });
});

describe("retries", () => {
  test("with retry-on 5xx a 503 is discarded and the request answered by another endpoint; without, the 503 passes", async () => {
    for (let i = 0; i < 6; i++) {
      const res = await turnout.request("retry-5xx.test", "/flaky");
      assert.deepEqual([res.status, res.body], [200, "s2 ok"]);
    }
    const statuses = new Set<number>();
    for (let i = 0; i < 6; i++) statuses.add((await turnout.request("no-retry-5xx.test", "/flaky")).status);
    assert.deepEqual([...statuses].sort(), [200, 503]);
  });

  for (const host of ["racy-fin.test", "racy-rst.test"]) {
    test(`an upstream dropping a reused keep-alive connection (${host.slice(5, 8).toUpperCase()}) is retried as a connection failure`, async () => {
      const drops = special.racyDrops;
      for (let i = 0; i < 12; i++) {
        const res = await turnout.request(host, "/");
        assert.equal(res.status, 200, `request ${i}: ${res.status} ${res.body}`);
      }
      assert.ok(special.racyDrops > drops, "the racy upstream dropped at least one reused connection");
    });
  }
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

  test("while draining, keep-alive connections are closed after their current response instead of being served until the grace ends", async () => {
    const own = await TurnoutProcess.start({ manifests: folder, args: ["--shutdown-delay", "200ms", "--shutdown-grace", "20s"] });
    const slow = fleet[2]!;
    // Long enough that the second request is sent while the first is still being answered, even on a busy machine.
    slow.delayMs = 2500;
    try {
      // Connection A is busy with a slow request when the drain starts, and sends another request during it.
      const busy = connect(own.httpPort, "127.0.0.1");
      let busyText = "";
      busy.on("data", (d: Buffer) => (busyText += d.toString("latin1")));
      const busyClosed = new Promise<void>((resolve) => busy.once("close", () => resolve()));
      busy.write("GET /slow HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
      // Connection B has finished one request and sits idle.
      const idle = connect(own.httpPort, "127.0.0.1");
      const idleClosed = new Promise<void>((resolve) => idle.once("close", () => resolve()));
      idle.resume();
      idle.write("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
      await new Promise((r) => setTimeout(r, 200));
      own.signal("SIGTERM");
      await own.waitForLog((line) => line.msg.startsWith("closing listeners"), 3000);
      await new Promise((r) => setTimeout(r, 300));
      busy.write("GET /items HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
      await Promise.all([busyClosed, idleClosed]);
      const responses = busyText.split(/(?=HTTP\/1\.1 )/);
      assert.deepEqual(responses.map((r) => r.slice(0, 12)), ["HTTP/1.1 200", "HTTP/1.1 200"], "both requests on A are answered");
      assert.match(responses[1]!, /\r\nConnection: close\r\n/i, "the answer sent during the drain closes the connection");
      assert.equal(await own.exited, 0);
      assert.equal(own.dumpLogs(200).includes("shutdown grace expired"), false, "no connection had to wait for the grace to end");
    } finally {
      slow.delayMs = 0;
      await own.stop();
    }
  });
});

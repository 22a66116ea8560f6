// HTTP/1.1 edge cases between clients, turnout and upstreams, end to end (file mode,
// real sockets): request smuggling vectors and malformed framing from clients,
// oversized heads, HTTP/1.0 and keep-alive handling, upstreams that break framing
// (truncated, over-long, both Content-Length and chunked, a 101 nobody asked for, huge
// heads, trailers), upstreams that answer before reading the body, clients that abort
// uploads, repeated response headers.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { TurnoutProcess, httpRequest } from "./support/turnout-process.ts";
import { okAnswer, startRawUpstream, startRecorder } from "./support/edge-upstreams.ts";
import type { Recorded, Recorder, RawUpstream } from "./support/edge-upstreams.ts";
import { converse, headerLines, statusLines } from "./support/raw-http.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";
import type { Manifest } from "./support/objects.ts";

// An HTTP upstream that records every request it parses (node's strict parser).
const RECORDER_IP = "127.0.0.81";
// A raw TCP upstream scripted per path, for answers an HTTP server would not send.
const RAW_IP = "127.0.0.80";

let folder: string;
let turnout: TurnoutProcess;
let recorder: Recorder;
let raw: RawUpstream;

function yaml(...docs: Manifest[]): string {
  return docs.map((d) => dump(d)).join("---\n");
}

/** A plain GET through turnout on a fresh connection, resolving with status/headers/body or the error. */
function freshGet(host: string, path: string, timeoutMs = 5000): Promise<{ status: number; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port: turnout.httpPort, path, headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body }));
      res.on("error", (e: Error) => resolve({ error: `${e.message} after ${body.length} body bytes` }));
      res.on("aborted", () => resolve({ error: `aborted after ${body.length} body bytes` }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e: Error) => resolve({ error: e.message }));
    req.end();
  });
}

async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await turnout.admin("/metrics")).body;
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => (m[2] ?? "").includes(`${k}="${v}"`))) continue;
    sum += Number(m[3]);
  }
  return sum;
}

function smuggledSeen(): Recorded[] {
  return recorder.requests.filter((r) => r.url.includes("smuggled"));
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "turnout-http-edge-"));
  recorder = await startRecorder(RECORDER_IP);
  raw = await startRawUpstream(RAW_IP, 0);
  await writeFile(
    join(folder, "all.yaml"),
    yaml(
      ingressClass("turnout", true),
      service("rec"),
      service("raw"),
      endpointSlice("rec-1", "rec", recorder.port, [{ ip: RECORDER_IP }]),
      endpointSlice("raw-1", "raw", raw.port, [{ ip: RAW_IP }]),
      ingress({ name: "edge", host: "edge.test", annotations: { "turnout.dev/max-fails": "1000" }, paths: [{ path: "/", service: "rec", port: 80 }] }),
      ingress({
        name: "raw",
        host: "raw.test",
        annotations: { "turnout.dev/max-fails": "1000", "turnout.dev/retries": "0", "turnout.dev/read-timeout": "2s" },
        paths: [{ path: "/", service: "raw", port: 80 }],
      }),
      ingress({ name: "anyhost", annotations: { "turnout.dev/max-fails": "1000" }, paths: [{ path: "/anyhost", service: "rec", port: 80 }] }),
    ),
  );
  turnout = await TurnoutProcess.start({ manifests: folder });
});

after(async () => {
  await turnout?.stop();
  await recorder?.close();
  await raw?.close();
  await rm(folder, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe("request smuggling vectors from the client", () => {
  const tail = "GET /smuggled HTTP/1.1\r\nHost: edge.test\r\n\r\n";
  const cases: [string, string][] = [
    ["Content-Length and Transfer-Encoding both", `POST /cl-te HTTP/1.1\r\nHost: edge.test\r\nContent-Length: ${5 + tail.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${tail}`],
    ["Transfer-Encoding and Content-Length both (TE first)", `POST /te-cl HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${(tail.length + 0).toString(16)}\r\n${tail}\r\n0\r\n\r\n`],
    ["two different Content-Length headers", `POST /two-cl HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 0\r\nContent-Length: ${tail.length}\r\n\r\n${tail}`],
    ["a Content-Length list with different values", `POST /cl-list HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 0, ${tail.length}\r\n\r\n${tail}`],
    ["Transfer-Encoding: chunked, identity (chunked not last)", `POST /te-list HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${tail}`],
    ["Transfer-Encoding: identity with Content-Length", `POST /te-identity HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: identity\r\nContent-Length: ${tail.length}\r\n\r\n${tail}`],
    ["a space before the colon of Transfer-Encoding", `POST /te-space HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding : chunked\r\nContent-Length: ${5 + tail.length}\r\n\r\n0\r\n\r\n${tail}`],
    ["a signed Content-Length", `POST /cl-sign HTTP/1.1\r\nHost: edge.test\r\nContent-Length: +${tail.length}\r\n\r\n${tail}`],
    ["Transfer-Encoding folded onto an obs-fold line", `POST /te-fold HTTP/1.1\r\nHost: edge.test\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\nContent-Length: ${5 + tail.length}\r\n\r\n0\r\n\r\n${tail}`],
    ["a bare CR inside a header value", `POST /bare-cr HTTP/1.1\r\nHost: edge.test\r\nX-Pad: a\rTransfer-Encoding: chunked\r\nContent-Length: ${5 + tail.length}\r\n\r\n0\r\n\r\n${tail}`],
    ["an invalid chunk size", `POST /chunk-size HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n\r\n${tail}`],
  ];
  for (const [name, bytes] of cases) {
    test(`${name}: 400 and the connection closed, never a second request upstream`, async () => {
      const before = recorder.requests.length;
      const answer = await converse(turnout.httpPort, bytes, { timeoutMs: 3000 });
      assert.deepEqual(statusLines(answer.received), ["HTTP/1.1 400 Bad Request"], answer.received);
      assert.match(answer.received, /x-turnout-error: TURNOUT_ERR_BAD_REQUEST/i);
      assert.ok(answer.closed, "the connection is closed after the 400");
      assert.deepEqual(smuggledSeen(), [], "the smuggled request never reached the upstream");
      assert.deepEqual(recorder.requests.slice(before).map((r) => r.url), [], "nothing of the malformed request reached the upstream");
    });
  }

  test("an obs-fold continuation line is refused or unfolded into one line (never forwarded as a line break)", async () => {
    const before = recorder.requests.length;
    const answer = await converse(turnout.httpPort, "GET /fold HTTP/1.1\r\nHost: edge.test\r\nX-Folded: first\r\n second\r\nConnection: close\r\n\r\n", { timeoutMs: 3000 });
    const [status] = statusLines(answer.received);
    if (status === "HTTP/1.1 400 Bad Request") {
      assert.equal(recorder.requests.length, before);
    } else {
      assert.equal(status, "HTTP/1.1 200 OK", answer.received);
      const seen = recorder.requests.at(-1)!;
      const folded = seen.rawHeaders[seen.rawHeaders.findIndex((h) => h.toLowerCase() === "x-folded") + 1] ?? "";
      assert.doesNotMatch(folded, /[\r\n]/);
    }
  });

  test("bare LF line endings: one request, answered once (400, or served as the same single request)", async () => {
    const before = recorder.requests.length;
    const answer = await converse(turnout.httpPort, "GET /bare-lf HTTP/1.1\nHost: edge.test\nConnection: close\n\n", { timeoutMs: 3000 });
    const statuses = statusLines(answer.received);
    assert.equal(statuses.length, 1, answer.received);
    assert.ok(answer.closed);
    assert.ok(recorder.requests.length - before <= 1);
  });
});

describe("oversized request heads", () => {
  test("64 KB of request headers get 431 with X-Turnout-Error; other connections are served meanwhile", async () => {
    const headers = Array.from({ length: 64 }, (_, i) => `X-Big-${i}: ${"v".repeat(1000)}\r\n`).join("");
    const answer = await converse(turnout.httpPort, `GET /big-head HTTP/1.1\r\nHost: edge.test\r\n${headers}\r\n`, { timeoutMs: 3000 });
    assert.match(answer.received, /^HTTP\/1\.1 431 /, answer.received.slice(0, 200));
    assert.match(answer.received, /x-turnout-error: TURNOUT_ERR_BAD_REQUEST/i);
    assert.ok(answer.closed);
    assert.equal((await turnout.request("edge.test", "/after-big-head")).status, 200);
  });

  test("a 100 KB URL gets 414 or 431 with X-Turnout-Error, not a hang or a reset", async () => {
    const answer = await converse(turnout.httpPort, `GET /${"u".repeat(100_000)} HTTP/1.1\r\nHost: edge.test\r\n\r\n`, { timeoutMs: 3000 });
    assert.match(answer.received, /^HTTP\/1\.1 (414|431) /, answer.received.slice(0, 200));
    assert.match(answer.received, /x-turnout-error: TURNOUT_ERR_BAD_REQUEST/i);
    assert.ok(answer.closed);
  });
});

describe("HTTP/1.0 clients and connection management", () => {
  test("HTTP/1.0 without Host is routed by host-less rules; the connection closes after a close-delimited or sized body", async () => {
    const answer = await converse(turnout.httpPort, "GET /anyhost/chunked HTTP/1.0\r\n\r\n", { timeoutMs: 3000 });
    assert.match(answer.received, /^HTTP\/1\.[01] 200 /, answer.received);
    assert.doesNotMatch(answer.received.slice(0, answer.received.indexOf("\r\n\r\n")), /transfer-encoding/i, "no chunked framing to an HTTP/1.0 client");
    assert.ok(answer.received.endsWith("\r\n\r\npart-one;part-two"), answer.received);
    assert.ok(answer.closed, "HTTP/1.0 without keep-alive: closed after the response");
  });

  test("HTTP/1.0 with Connection: keep-alive keeps the connection for a second request", async () => {
    const request = "GET /ka10 HTTP/1.0\r\nHost: edge.test\r\nConnection: keep-alive\r\n\r\n";
    const answer = await converse(turnout.httpPort, [request, request], { until: (r) => statusLines(r).length === 2 && r.trimEnd().endsWith("}"), timeoutMs: 3000 });
    assert.equal(statusLines(answer.received).length, 2, answer.received);
    assert.match(answer.received, /connection: keep-alive/i);
  });

  test("Connection: close from an HTTP/1.1 client is honoured: Connection: close back and the socket ends", async () => {
    const answer = await converse(turnout.httpPort, "GET /close HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n", { timeoutMs: 3000 });
    assert.match(answer.received, /^HTTP\/1\.1 200 /);
    assert.deepEqual(headerLines(answer.received, "connection"), ["close"]);
    assert.ok(answer.closed);
  });

  test("200 requests on one keep-alive connection, each answered in order with its own body", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    try {
      for (let i = 0; i < 200; i++) {
        const res = await new Promise<{ body: string; localPort: number }>((resolve, reject) => {
          const req = http.request({ host: "127.0.0.1", port: turnout.httpPort, path: `/seq/${i}`, headers: { host: "edge.test" }, agent }, (r) => {
            let body = "";
            r.on("data", (d: Buffer) => (body += d.toString()));
            r.on("end", () => resolve({ body, localPort: req.socket?.localPort ?? 0 }));
          });
          req.on("error", reject);
          req.end();
        });
        assert.equal((JSON.parse(res.body) as { url: string }).url, `/seq/${i}`);
        ports.add(res.localPort);
      }
    } finally {
      agent.destroy();
    }
    assert.equal(ports.size, 1, "one connection carried them all");
  });

  test("a GET with a body: the body reaches the upstream whole, the next request on the connection is not polluted", async () => {
    const answer = await converse(
      turnout.httpPort,
      "GET /get-body HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 11\r\n\r\nhello worldGET /after-get-body HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n",
      { timeoutMs: 3000 },
    );
    assert.equal(statusLines(answer.received).length, 2, answer.received);
    const bodies = [...answer.received.matchAll(/\{"method":"GET","url":"([^"]*)","body":"([^"]*)"\}/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(bodies, [["/get-body", "hello world"], ["/after-get-body", ""]]);
  });
});

describe("upstream misbehaviour", () => {
  test("an upstream closing mid-body after a Content-Length head: the client sees an aborted response, not a hang; the next request works", async () => {
    raw.scripts.set("/truncate", (socket) => {
      socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n" + "t".repeat(100));
      return "done";
    });
    const started = Date.now();
    const res = await freshGet("raw.test", "/truncate", 5000);
    assert.ok("error" in res, `the client must notice the truncation, got ${JSON.stringify(res).slice(0, 200)}`);
    assert.ok(Date.now() - started < 2500, "no hang");
    const next = await freshGet("raw.test", "/next");
    assert.deepEqual("error" in next ? next : [next.status, next.body], [200, "raw ok /next"]);
  });

  test("an upstream sending more than its Content-Length: the client gets exactly the declared body; the excess never answers a later request", async () => {
    raw.scripts.set("/overlong", (socket) => {
      socket.write(okAnswer("hello") + "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 8\r\n\r\npoisoned");
      return "keep";
    });
    const first = await freshGet("raw.test", "/overlong");
    assert.deepEqual("error" in first ? first : [first.status, first.body], [200, "hello"]);
    for (let i = 0; i < 5; i++) {
      const next = await freshGet("raw.test", `/after-overlong-${i}`);
      assert.deepEqual("error" in next ? next : [next.status, next.body], [200, `raw ok /after-overlong-${i}`]);
    }
  });

  test("an upstream response with both Content-Length and chunked framing gets 502, or reaches the client with consistent framing", async () => {
    raw.scripts.set("/cl-and-chunked", (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
      return "done";
    });
    const answer = await converse(turnout.httpPort, "GET /cl-and-chunked HTTP/1.1\r\nHost: raw.test\r\n\r\nGET /after-cl-chunked HTTP/1.1\r\nHost: raw.test\r\nConnection: close\r\n\r\n", { timeoutMs: 4000 });
    const statuses = statusLines(answer.received);
    assert.equal(statuses.length, 2, answer.received);
    if (statuses[0]!.includes(" 502 ")) {
      assert.match(answer.received, /x-turnout-error: TURNOUT_ERR_UPSTREAM_PROTOCOL/i);
    } else {
      const head = answer.received.slice(0, answer.received.indexOf("\r\n\r\n"));
      assert.ok(!(/content-length: 3/i.test(head) && /hello/.test(answer.received)), `framing mismatch: ${answer.received}`);
    }
    assert.ok(answer.received.endsWith("raw ok /after-cl-chunked"), answer.received);
  });

  test("an upstream response with two different Content-Length values gets 502 TURNOUT_ERR_UPSTREAM_PROTOCOL", async () => {
    raw.scripts.set("/two-cl", (socket) => {
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello!!");
      return "done";
    });
    const res = await freshGet("raw.test", "/two-cl");
    assert.ok(!("error" in res), JSON.stringify(res));
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_UPSTREAM_PROTOCOL");
  });

  test("a 101 Switching Protocols to a request that asked for no upgrade gets 502, and the next request works", async () => {
    raw.scripts.set("/unasked-101", (socket) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n");
      setTimeout(() => socket.end("binary-garbage"), 50);
      return "done";
    });
    const res = await freshGet("raw.test", "/unasked-101", 5000);
    assert.ok(!("error" in res), JSON.stringify(res));
    assert.equal(res.status, 502, JSON.stringify(res));
    assert.match(String(res.headers["x-turnout-error"]), /^TURNOUT_ERR_UPSTREAM_(PROTOCOL|RESET)$/);
    const next = await freshGet("raw.test", "/after-101");
    assert.deepEqual("error" in next ? next : [next.status, next.body], [200, "raw ok /after-101"]);
  });

  test("a response head larger than 32 KB gets 502 TURNOUT_ERR_UPSTREAM_PROTOCOL", async () => {
    raw.scripts.set("/huge-head", (socket) => {
      socket.end(`HTTP/1.1 200 OK\r\nx-huge: ${"h".repeat(40_000)}\r\ncontent-length: 2\r\n\r\nok`);
      return "done";
    });
    const res = await freshGet("raw.test", "/huge-head");
    assert.ok(!("error" in res), JSON.stringify(res).slice(0, 300));
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-turnout-error"], "TURNOUT_ERR_UPSTREAM_PROTOCOL");
  });

  test("a chunked response with trailers: the body arrives whole and well framed", async () => {
    raw.scripts.set("/trailers", (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n4\r\nbody\r\n5\r\n-more\r\n0\r\nx-checksum: abc\r\n\r\n");
      return "keep";
    });
    const answer = await converse(turnout.httpPort, "GET /trailers HTTP/1.1\r\nHost: raw.test\r\n\r\nGET /after-trailers HTTP/1.1\r\nHost: raw.test\r\nConnection: close\r\n\r\n", { timeoutMs: 4000 });
    const statuses = statusLines(answer.received);
    assert.deepEqual(statuses, ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"], answer.received);
    const second = answer.received.indexOf("HTTP/1.1 200 OK", 5);
    const first = answer.received.slice(0, second);
    const dechunked = first.slice(first.indexOf("\r\n\r\n") + 4).replace(/(^|\r\n)[0-9a-f]+\r\n/gi, "$1").replace(/\r\n/g, "");
    assert.ok(dechunked.startsWith("body-more"), first);
    assert.ok(answer.received.endsWith("raw ok /after-trailers"));
  });

  test("a close-delimited HTTP/1.0 response (no length) reaches the client whole", async () => {
    raw.scripts.set("/close-delimited", (socket) => {
      socket.end("HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\n" + "z".repeat(50_000));
      return "done";
    });
    const res = await freshGet("raw.test", "/close-delimited");
    assert.ok(!("error" in res), JSON.stringify(res));
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 50_000);
  });

  test("a slow first byte under the read timeout is waited for", async () => {
    const res = await turnout.request("edge.test", "/slow-first-byte");
    assert.deepEqual([res.status, res.body], [200, "late but fine"]);
  });

  {
    const path = "/early-413";
    test("an upstream answering 413 before reading a 4 MB upload: the client gets the 413, not a 502 or a reset", async () => {
      const upload = Buffer.alloc(4 * 1024 * 1024, 0x62);
      const result = await new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
        const req = http.request(
          { host: "127.0.0.1", port: turnout.httpPort, path, method: "POST", headers: { host: "edge.test", "content-length": String(upload.length) }, agent: false, timeout: 8000 },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", (e: Error) => resolve({ error: `response ${e.message}` }));
          },
        );
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", (e: Error) => resolve({ error: `request ${e.message}` }));
        req.end(upload);
      });
      assert.deepEqual(result, { status: 413, body: "too large" });
      assert.equal((await turnout.request("edge.test", "/after-413")).status, 200);
    });
  }
});

describe("client misbehaviour", () => {
  test("a client aborting mid-upload: the upstream sees an aborted request, no upstream connection leaks, metrics stay sane", async () => {
    const baselineConnections = await metricValue("turnout_active_connections", { listener: "http" });
    const upstreamSocketsBefore = recorder.openSockets();
    for (let round = 0; round < 3; round++) {
      const before = recorder.requests.length;
      const socket = connect(turnout.httpPort, "127.0.0.1");
      await new Promise<void>((resolve) => socket.on("connect", resolve));
      socket.write(`POST /upload-abort-${round} HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 100000\r\n\r\n${"a".repeat(5000)}`);
      await turnout.waitUntil(() => recorder.requests.length > before, 3000, "the upload reached the upstream");
      socket.destroy();
      const entry = recorder.requests[before]!;
      await turnout.waitUntil(() => entry.aborted, 3000, "the upstream saw the abort");
      assert.equal(entry.complete, false);
    }
    await turnout.waitUntil(async () => (await metricValue("turnout_active_connections", { listener: "http" })) === baselineConnections, 3000, "active connections back to baseline");
    await turnout.waitUntil(() => recorder.openSockets() <= Math.max(upstreamSocketsBefore, 1), 3000, "no upstream connections left over from the aborted uploads");
    for (let i = 0; i < 5; i++) assert.equal((await turnout.request("edge.test", `/after-abort-${i}`)).status, 200);
    assert.ok(!turnout.logs.some((l) => l.level === "error" || l.level === "stderr"), turnout.dumpLogs(20));
  });

  test("a client that sends a chunked upload and goes away mid-chunk: the upstream sees the abort, nothing is answered to a closed socket", async () => {
    const before = recorder.requests.length;
    const socket = connect(turnout.httpPort, "127.0.0.1");
    await new Promise<void>((resolve) => socket.on("connect", resolve));
    socket.write("POST /chunk-abort HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly-half");
    await turnout.waitUntil(() => recorder.requests.length > before, 3000, "the upload reached the upstream");
    socket.destroy();
    const entry = recorder.requests[before]!;
    await turnout.waitUntil(() => entry.aborted, 3000, "the upstream saw the abort");
    assert.equal((await turnout.request("edge.test", "/after-chunk-abort")).status, 200);
  });
});

describe("what the upstream receives", () => {
  test("header values with obs-text bytes (UTF-8, 0xFF) reach the upstream byte for byte", async () => {
    const before = recorder.requests.length;
    const answer = await converse(turnout.httpPort, Buffer.from("GET /obs-text HTTP/1.1\r\nHost: edge.test\r\nX-Name: caf\xc3\xa9 \xff\r\nConnection: close\r\n\r\n", "latin1"), { timeoutMs: 3000 });
    assert.match(answer.received, /^HTTP\/1\.1 200 /, answer.received);
    const seen = recorder.requests[before]!;
    const value = seen.rawHeaders[seen.rawHeaders.findIndex((h) => h.toLowerCase() === "x-name") + 1];
    assert.equal(Buffer.from(value ?? "", "latin1").toString("hex"), Buffer.from("caf\xc3\xa9 \xff", "latin1").toString("hex"));
  });

  test("the request target is forwarded untouched: no normalisation of //, dot segments, %2F or the query", async () => {
    const target = "/a//b/../c/%2e%2E/d%2Fe;p=1?q=%20x&y=/../z";
    const answer = await converse(turnout.httpPort, `GET ${target} HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n`, { timeoutMs: 3000 });
    assert.match(answer.received, /^HTTP\/1\.1 200 /, answer.received);
    assert.equal(recorder.requests.at(-1)!.url, target);
  });

  test("more than 2000 request header lines: the request is refused (431/400) or forwarded whole, never with headers silently dropped", async () => {
    const before = recorder.requests.length;
    const filler = "X:1\r\n".repeat(2100);
    const answer = await converse(turnout.httpPort, `POST /many-headers HTTP/1.1\r\nHost: edge.test\r\n${filler}X-Last: last\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`, { timeoutMs: 3000 });
    const [status] = statusLines(answer.received);
    if (status?.startsWith("HTTP/1.1 4")) {
      assert.match(status, / (400|431) /);
      assert.equal(recorder.requests.length, before, "nothing forwarded");
      return;
    }
    assert.equal(status, "HTTP/1.1 200 OK", answer.received.slice(0, 300));
    const seen = recorder.requests[before]!;
    assert.equal(seen.body, "hello", "the body reached the upstream");
    assert.ok(seen.rawHeaders.includes("X-Last"), "the last header reached the upstream");
  });

  test("a pipelined request behind one with Connection: close is never forwarded", async () => {
    const answer = await converse(turnout.httpPort, "GET /first HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\nGET /smuggled-after-close HTTP/1.1\r\nHost: edge.test\r\n\r\n", { timeoutMs: 3000 });
    assert.deepEqual(statusLines(answer.received), ["HTTP/1.1 200 OK"]);
    assert.ok(answer.closed);
    assert.deepEqual(smuggledSeen(), []);
  });

  test("pipelined requests where the first fails upstream (502): answers stay in order, the second is served", async () => {
    raw.scripts.set("/garbage", (socket) => {
      socket.end("NOT HTTP AT ALL\r\n\r\n");
      return "done";
    });
    const answer = await converse(turnout.httpPort, "GET /garbage HTTP/1.1\r\nHost: raw.test\r\n\r\nGET /second HTTP/1.1\r\nHost: raw.test\r\nConnection: close\r\n\r\n", { timeoutMs: 4000 });
    assert.deepEqual(statusLines(answer.received), ["HTTP/1.1 502 Bad Gateway", "HTTP/1.1 200 OK"], answer.received);
    assert.ok(answer.received.endsWith("raw ok /second"), answer.received);
  });
});

describe("response header edge cases", () => {
  test("a response header value with obs-text bytes reaches the client byte for byte", async () => {
    const answer = await converse(turnout.httpPort, "GET /latin1-header HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n", { timeoutMs: 3000 });
    assert.match(answer.received, /^HTTP\/1\.1 200 /, answer.received);
    const [value] = headerLines(answer.received, "x-resp");
    assert.equal(Buffer.from(value ?? "", "latin1").toString("hex"), Buffer.from("caf\xc3\xa9 \xff", "latin1").toString("hex"));
  });

  test("repeated Set-Cookie headers stay separate header lines, values untouched", async () => {
    const answer = await converse(turnout.httpPort, "GET /cookies HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n", { timeoutMs: 3000 });
    assert.deepEqual(headerLines(answer.received, "set-cookie"), ["a=1; Path=/", "b=2; Path=/; HttpOnly", "c=3, with comma; Path=/"]);
  });

  test("a chunked response passes re-framed, its body whole", async () => {
    const res = await httpRequest({ port: turnout.httpPort, path: "/chunked", method: "GET", headers: { host: "edge.test" }, agent: false });
    assert.deepEqual([res.status, res.body], [200, "part-one;part-two"]);
  });
});

// httpProbe: the verdict per status, timeouts, aborts and endless bodies, against real servers.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { httpProbe, probeStatusPasses } from "./http-probe.ts";

const IP = "127.0.0.29";
let status = 200;
let endlessBody = false;
const server = http.createServer((req, res) => {
  if (req.url === "/hang") return;
  res.writeHead(status, { "content-type": "text/plain" });
  if (!endlessBody) return res.end("ok");
  const timer = setInterval(() => res.write("x".repeat(1024)), 1);
  res.on("close", () => clearInterval(timer));
});
const ready = new Promise<number>((resolve) => server.listen(0, IP, () => resolve((server.address() as AddressInfo).port)));
after(() => {
  server.closeAllConnections();
  server.close();
});

void test("statuses 200-399 pass, everything else fails", () => {
  const table: [number, boolean][] = [
    [100, false],
    [199, false],
    [200, true],
    [204, true],
    [301, true],
    [399, true],
    [400, false],
    [404, false],
    [500, false],
    [503, false],
  ];
  for (const [code, passes] of table) assert.equal(probeStatusPasses(code), passes, String(code));
});

void test("a redirect passes and a 503 fails, over a real connection", async () => {
  const port = await ready;
  status = 302;
  assert.deepEqual(await httpProbe({ ip: IP, port, path: "/", host: "x", timeoutMs: 1_000 }), { ok: true, status: 302 });
  status = 503;
  assert.deepEqual(await httpProbe({ ip: IP, port, path: "/", host: "x", timeoutMs: 1_000 }), { ok: false, reason: "status 503" });
  status = 200;
});

void test("the verdict comes with the status line; an endless body does not hold the probe", async () => {
  const port = await ready;
  endlessBody = true;
  try {
    assert.deepEqual(await httpProbe({ ip: IP, port, path: "/", host: "x", timeoutMs: 1_000 }), { ok: true, status: 200 });
  } finally {
    endlessBody = false;
  }
});

void test("no answer within the timeout is a failure", async () => {
  const port = await ready;
  assert.deepEqual(await httpProbe({ ip: IP, port, path: "/hang", host: "x", timeoutMs: 20 }), { ok: false, reason: "timed out after 20 ms" });
});

void test("an aborted probe resolves as a failure instead of rejecting", async () => {
  const port = await ready;
  const controller = new AbortController();
  const probe = httpProbe({ ip: IP, port, path: "/hang", host: "x", timeoutMs: 5_000, signal: controller.signal });
  controller.abort();
  const result = await probe;
  assert.equal(result.ok, false);
});

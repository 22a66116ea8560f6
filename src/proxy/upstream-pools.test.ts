// Upstream pools: one per endpoint and connect timeout, closed when the endpoint
// leaves; keep-alive connections reused, one request at a time each, against a real
// loopback server; and how a socket error tells whether its connection had been reused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EndpointConnections, UpstreamPools, connectionHadReadBytes } from "./upstream-pools.ts";

/** A loopback upstream that answers with the number of the connection the request came on. */
async function countingUpstream(answer: (req: IncomingMessage, res: ServerResponse, connection: number) => void): Promise<{ address: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = createServer((req, res) => answer(req, res, (req.socket as unknown as { number: number }).number));
  server.on("connection", (socket) => Object.assign(socket, { number: ++connections }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.41", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.41:${port}`,
    connections: () => connections,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** undici frees a connection just after the response ends; the proxy's next request comes on a later I/O event. */
const nextEvent = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One GET through `connections`; resolves with the status and body. */
function get(connections: EndpointConnections, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = "";
    connections.dispatch({ path, method: "GET", headers: [] }, {
      onRequestStart: () => {},
      onResponseStart: (_controller, statusCode) => { status = statusCode; },
      onResponseData: (_controller, chunk) => { body += chunk.toString(); },
      onResponseEnd: () => resolve({ status, body }),
      onResponseError: (_controller, error) => reject(error),
    });
  });
}

test("an endpoint keeps one pool per connect timeout; forgetting it closes them", () => {
  const pools = new UpstreamPools();
  const first = pools.get("10.0.0.1:8080", 5000);
  assert.equal(pools.get("10.0.0.1:8080", 5000), first);
  const other = pools.get("10.0.0.1:8080", 1000);
  assert.notEqual(other, first);
  const elsewhere = pools.get("10.0.0.2:8080", 5000);
  assert.deepEqual(pools.addresses().sort(), ["10.0.0.1:8080", "10.0.0.2:8080"]);
  pools.forget(["10.0.0.1:8080", "10.0.0.9:8080"]);
  assert.deepEqual(pools.addresses(), ["10.0.0.2:8080"]);
  assert.equal(first.closed, true);
  assert.equal(other.closed, true);
  assert.equal(elsewhere.closed, false);
  assert.notEqual(pools.get("10.0.0.1:8080", 5000), first, "an endpoint that comes back gets a new pool");
  pools.close();
  assert.deepEqual(pools.addresses(), []);
});

test("an IPv6 endpoint address is a valid pool origin", () => {
  const pools = new UpstreamPools();
  assert.doesNotThrow(() => pools.get("[fd00::1]:8080", 5000));
  pools.close();
});

test("sequential requests share one keep-alive connection; concurrent ones get one each, reused afterwards", async () => {
  const held: ServerResponse[] = [];
  const upstream = await countingUpstream((req, res, connection) => {
    if (req.url === "/hold") held.push(res);
    else res.end(String(connection));
  });
  const connections = new EndpointConnections(upstream.address, 5000);
  try {
    assert.deepEqual(await get(connections), { status: 200, body: "1" });
    await nextEvent();
    assert.deepEqual(await get(connections), { status: 200, body: "1" }, "the second request reuses the first connection");
    await nextEvent();
    const concurrent = [get(connections, "/hold"), get(connections, "/hold"), get(connections, "/hold")];
    while (held.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(upstream.connections(), 3, "one request at a time per connection: two more were opened");
    for (const res of held) res.end("held");
    await Promise.all(concurrent);
    await nextEvent();
    const later = await Promise.all([get(connections), get(connections), get(connections)]);
    assert.equal(upstream.connections(), 3, "three idle connections carry the next three requests");
    assert.deepEqual(later.map((r) => r.body).sort(), ["1", "2", "3"]);
    assert.equal(connections.size, 3);
  } finally {
    connections.destroy();
    await upstream.close();
  }
});

test("a connection the upstream closes is dropped and the next request opens a new one", async () => {
  const upstream = await countingUpstream((_req, res, connection) => {
    res.setHeader("connection", "close");
    res.end(String(connection));
  });
  const connections = new EndpointConnections(upstream.address, 5000);
  try {
    for (let i = 1; i <= 5; i++) assert.deepEqual(await get(connections), { status: 200, body: String(i) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(connections.size, 0, "closed connections are not kept");
  } finally {
    connections.destroy();
    await upstream.close();
  }
});

test("a request dispatched after the endpoint was forgotten still gets its answer", async () => {
  const upstream = await countingUpstream((_req, res, connection) => res.end(String(connection)));
  const pools = new UpstreamPools();
  const connections = pools.get(upstream.address, 5000);
  try {
    assert.deepEqual(await get(connections), { status: 200, body: "1" });
    pools.forget([upstream.address]);
    assert.deepEqual(await get(connections), { status: 200, body: "2" }, "on a connection of its own");
    assert.equal(connections.size, 0);
  } finally {
    pools.close();
    await upstream.close();
  }
});

test("undici socket errors tell from their counters whether the connection had read anything", () => {
  const socketError = (bytesRead: number): Error => Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET", socket: { bytesRead } });
  assert.equal(connectionHadReadBytes(socketError(0)), false);
  assert.equal(connectionHadReadBytes(socketError(120)), true);
  assert.equal(connectionHadReadBytes(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })), false, "unknown errors count as a fresh connection");
});

test("requests undici refuses before sending anything leave no connection behind; the next request reuses it", async () => {
  const upstream = await countingUpstream((_req, res, connection) => res.end(String(connection)));
  const connections = new EndpointConnections(upstream.address, 5000);
  try {
    const refusals: string[] = [];
    for (let i = 0; i < 50; i++) {
      connections.dispatch({ path: "*", method: "OPTIONS", headers: [] }, {
        onRequestStart: () => {},
        onResponseStart: () => {},
        onResponseData: () => {},
        onResponseEnd: () => {},
        onResponseError: (_controller, error) => { refusals.push((error as NodeJS.ErrnoException).code ?? ""); },
      });
    }
    assert.equal(refusals.length, 50);
    assert.ok(refusals.every((code) => code === "UND_ERR_INVALID_ARG"), refusals[0]);
    assert.equal(connections.size, 1, "one client, idle again after each refusal");
    assert.deepEqual(await get(connections), { status: 200, body: "1" });
  } finally {
    connections.destroy();
    await upstream.close();
  }
});

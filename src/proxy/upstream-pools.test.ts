// Upstream pools: one per endpoint and connect timeout, closed when the endpoint
// leaves; and how a socket error tells whether its connection had been reused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { UpstreamPools, connectionHadReadBytes } from "./upstream-pools.ts";

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

test("undici socket errors tell from their counters whether the connection had read anything", () => {
  const socketError = (bytesRead: number): Error => Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET", socket: { bytesRead } });
  assert.equal(connectionHadReadBytes(socketError(0)), false);
  assert.equal(connectionHadReadBytes(socketError(120)), true);
  assert.equal(connectionHadReadBytes(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })), false, "unknown errors count as a fresh connection");
});

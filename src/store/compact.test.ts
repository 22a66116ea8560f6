// Compact normalised objects: same content as parsed, nothing shared with the input,
// one frozen empty record for absent labels and annotations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseEndpointSlice, parseService } from "./schemas.ts";
import { EMPTY_RECORD } from "./compact.ts";

void test("a parsed object keeps nothing of its input: later changes to the input do not reach the store's copy", () => {
  const raw = {
    metadata: { name: "web-1", namespace: "shop", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080 }],
    endpoints: [{ addresses: ["10.0.0.1"], zone: "a" }],
  };
  const parsed = parseEndpointSlice(raw);
  assert.ok(parsed.ok);
  raw.endpoints[0]!.addresses.push("10.0.0.9");
  raw.metadata.labels["kubernetes.io/service-name"] = "other";
  assert.deepEqual(parsed.object.endpoints, [{ addresses: ["10.0.0.1"], zone: "a", conditions: { ready: true, serving: true, terminating: false } }]);
  assert.deepEqual(parsed.object.meta.labels, { "kubernetes.io/service-name": "web" });
});

void test("objects without labels or annotations share one frozen empty record; others keep their own", () => {
  const bare = parseService({ metadata: { name: "a" }, spec: { ports: [{ port: 80 }] } });
  const alsoBare = parseService({ metadata: { name: "b", labels: {}, annotations: null } });
  const annotated = parseService({ metadata: { name: "c", annotations: { team: "shop" } } });
  assert.ok(bare.ok && alsoBare.ok && annotated.ok);
  assert.equal(bare.object.meta.labels, EMPTY_RECORD);
  assert.equal(alsoBare.object.meta.annotations, EMPTY_RECORD);
  assert.ok(Object.isFrozen(EMPTY_RECORD));
  assert.deepEqual(annotated.object.meta.annotations, { team: "shop" });
  assert.equal(annotated.object.meta.labels, EMPTY_RECORD);
});

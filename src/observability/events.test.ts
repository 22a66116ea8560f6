// Instrumentation channels: typed delivery to subscribers, nothing published
// when nobody listens, and unsubscribing stops delivery.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EVENT_NAMES, channels, publishRetry, publishSync, subscribe } from "./events.ts";
import type { RetryEvent } from "./events.ts";

test("every channel is listed in EVENT_NAMES under its turnout: name", () => {
  assert.deepEqual(new Set(Object.values(channels).map((c) => c.name)), new Set(EVENT_NAMES));
  assert.equal(EVENT_NAMES.length, Object.keys(channels).length);
  for (const name of EVENT_NAMES) assert.match(name, /^turnout:[a-z]+(:[a-z]+)?$/);
});

test("a subscriber receives the published payload as is, until it unsubscribes", () => {
  const received: RetryEvent[] = [];
  const unsubscribe = subscribe("turnout:retry", (event) => received.push(event));
  const event: RetryEvent = { service: "shop/web:80", kind: "reset" };
  publishRetry(event);
  unsubscribe();
  publishRetry({ service: "shop/web:80", kind: "timeout" });
  assert.deepEqual(received, [event]);
  assert.equal(received[0], event);
  assert.equal(channels.retry.hasSubscribers, false);
});

test("publish helpers skip channel.publish entirely while nobody listens", (t) => {
  const publish = t.mock.method(channels.sync, "publish");
  publishSync({ resource: "ingresses", timestampSeconds: 1 });
  assert.equal(publish.mock.callCount(), 0);

  const unsubscribe = subscribe("turnout:sync", () => undefined);
  publishSync({ resource: "ingresses", timestampSeconds: 2 });
  unsubscribe();
  publishSync({ resource: "ingresses", timestampSeconds: 3 });
  assert.equal(publish.mock.callCount(), 1);
});

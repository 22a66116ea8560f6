// Label and field selectors parse and match as the Kubernetes API server's do.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { findByResource } from "./resources.ts";
import { ApiError } from "./status.ts";
import type { KubeObject } from "./objects.ts";

const labelled = (labels: Record<string, string>): KubeObject => ({ metadata: { name: "n", labels } });

void describe("label selectors", () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ["", {}, true],
    ["app=web", { app: "web" }, true],
    ["app==web", { app: "web" }, true],
    ["app=web", { app: "api" }, false],
    ["app!=web", {}, true],
    ["app!=web", { app: "web" }, false],
    ["app", { app: "" }, true],
    ["app", {}, false],
    ["!app", {}, true],
    ["!app", { app: "x" }, false],
    ["app=web,tier!=db", { app: "web", tier: "front" }, true],
    ["app=web,tier!=db", { app: "web", tier: "db" }, false],
    ["env in (prod, staging)", { env: "staging" }, true],
    ["env in (prod,staging)", {}, false],
    ["env notin (prod),app", { app: "x" }, true],
    ["example.com/team=a", { "example.com/team": "a" }, true],
    ["empty=", { empty: "" }, true],
  ];
  for (const [selector, labels, expected] of cases) {
    void it(`"${selector}" on ${JSON.stringify(labels)} -> ${expected}`, () => {
      assert.equal(parseLabelSelector(selector)(labelled(labels)), expected);
    });
  }

  void it("rejects malformed selectors with a 400", () => {
    for (const bad of ["a=b=c", "a in b", "=x", "a!"]) {
      assert.throws(() => parseLabelSelector(bad), (e: unknown) => e instanceof ApiError && e.code === 400, bad);
    }
  });
});

void describe("field selectors", () => {
  const secrets = findByResource("", "v1", "secrets");
  const ingresses = findByResource("networking.k8s.io", "v1", "ingresses");
  assert.ok(secrets !== undefined && ingresses !== undefined);
  const tls: KubeObject = { metadata: { name: "a", namespace: "ns" }, type: "kubernetes.io/tls" };

  void it("matches metadata.name, metadata.namespace and a secret's type", () => {
    assert.equal(parseFieldSelector("metadata.name=a,metadata.namespace=ns", secrets)(tls), true);
    assert.equal(parseFieldSelector("type=kubernetes.io/tls", secrets)(tls), true);
    assert.equal(parseFieldSelector("type!=kubernetes.io/tls", secrets)(tls), false);
    assert.equal(parseFieldSelector("metadata.name==b", secrets)(tls), false);
  });

  void it("refuses fields the resource does not support, as the server does", () => {
    assert.throws(() => parseFieldSelector("type=kubernetes.io/tls", ingresses), (e: unknown) => e instanceof ApiError && e.code === 400 && /field label not supported: type/.test(e.message));
  });
});

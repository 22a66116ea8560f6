// /metrics end to end: a Prometheus scrape of the real process shows the
// requests it served, by route and status, and the control-plane state.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { TurnoutProcess } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";

let folder: string;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;

/** The value of the sample whose name and labels are exactly these. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(",");
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? "").split(/,(?=[a-z_]+=")/).filter((s) => s !== "").sort().join(",");
    if (got === wanted) return Number(m[3]);
  }
  return undefined;
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "turnout-metrics-"));
  fleet = await startEchoFleet(["m1"], ["127.0.0.21"]);
  await writeFile(
    join(folder, "all.yaml"),
    [ingressClass("turnout", true), service("web"), endpointSlice("web-1", "web", fleet[0]!.port, [{ ip: "127.0.0.21" }]), ingress({ name: "site", namespace: "default", host: "metrics.test", paths: [{ path: "/", service: "web", port: 80 }] })]
      .map((d) => dump(d))
      .join("---\n"),
  );
  turnout = await TurnoutProcess.start({ manifests: folder });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await rm(folder, { recursive: true, force: true });
});

test("requests are counted by ingress, service, method and code; unmatched ones under empty labels", async () => {
  for (let i = 0; i < 5; i++) assert.equal((await turnout.request("metrics.test", "/x")).status, 200);
  assert.equal((await turnout.request("metrics.test", "/y", { method: "POST", body: "hello" })).status, 200);
  assert.equal((await turnout.request("unknown.test", "/")).status, 404);
  // The request-end event fires as the response closes; give the last one a moment.
  let text = "";
  await turnout.waitUntil(async () => {
    text = (await turnout.admin("/metrics")).body;
    return sample(text, "turnout_requests_total", { namespace: "", ingress: "", service: "", method: "GET", code: "404" }) === 1;
  }, 2000, "no-route sample");
  const route = { namespace: "default", ingress: "site", service: "default/web:80" };
  assert.equal(sample(text, "turnout_requests_total", { ...route, method: "GET", code: "200" }), 5);
  assert.equal(sample(text, "turnout_requests_total", { ...route, method: "POST", code: "200" }), 1);
  assert.equal(sample(text, "turnout_request_duration_seconds_count", { ...route, method: "GET" }), 5);
  assert.ok((sample(text, "turnout_upstream_response_duration_seconds_count", route) ?? 0) >= 6);
  assert.ok((sample(text, "turnout_request_bytes_total", route) ?? 0) > 0);
  assert.ok(!text.includes("/x"), "paths never appear in labels");
});

test("control-plane and process metrics are exposed", async () => {
  const text = (await turnout.admin("/metrics")).body;
  assert.equal(sample(text, "turnout_config_generation", {}), 1);
  assert.equal(sample(text, "turnout_backends", {}), 1);
  assert.equal(sample(text, "turnout_endpoints", { service: "default/web:80", state: "healthy" }), 1);
  assert.ok((sample(text, "turnout_reloads_total", { result: "published" }) ?? 0) >= 1);
  assert.match(text, /^process_cpu_user_seconds_total /m);
});

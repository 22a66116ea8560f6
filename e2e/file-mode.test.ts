// File mode end to end: turnout serves a folder of YAML manifests, follows edits
// within a second, and keeps the last good objects when a file turns invalid.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { TurnoutProcess, answeredBy } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service } from "./support/objects.ts";
import type { Manifest } from "./support/objects.ts";

let folder: string;
let upstreams: EchoUpstream[];
let turnout: TurnoutProcess;

function yaml(...docs: Manifest[]): string {
  return docs.map((d) => dump(d)).join("---\n");
}

async function upstreamOf(host: string, path: string): Promise<string> {
  return answeredBy(await turnout.request(host, path));
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "turnout-files-"));
  upstreams = await startEchoFleet(["blue", "green"], ["127.0.0.2", "127.0.0.3"]);
  const port = upstreams[0]!.port;
  await writeFile(join(folder, "class.yaml"), yaml(ingressClass()));
  await writeFile(
    join(folder, "backends.yaml"),
    yaml(service("blue"), service("green"), endpointSlice("blue-1", "blue", port, [{ ip: "127.0.0.2" }]), endpointSlice("green-1", "green", port, [{ ip: "127.0.0.3" }])),
  );
  await writeFile(join(folder, "app.yaml"), yaml(ingress({ name: "app", host: "app.test", paths: [{ path: "/", service: "blue", port: 80 }] })));
  turnout = await TurnoutProcess.start({ manifests: folder });
});

after(async () => {
  await turnout?.stop();
  await Promise.all(upstreams.map((u) => u.close()));
  await rm(folder, { recursive: true, force: true });
});

test("serves the Ingresses of the folder", async () => {
  assert.equal(await upstreamOf("app.test", "/anything"), "blue");
  assert.equal(await upstreamOf("APP.test:8080", "/"), "blue", "host match ignores case and port");
  const miss = await turnout.request("other.test", "/");
  assert.equal(miss.status, 404);
  assert.equal(miss.headers["x-turnout-error"], "TURNOUT_ERR_NO_ROUTE");
});

test("an edited file changes routing within a second, without restart", async () => {
  const started = Date.now();
  await writeFile(join(folder, "app.yaml"), yaml(ingress({ name: "app", host: "app.test", paths: [{ path: "/", service: "green", port: 80 }] })));
  await turnout.waitUntil(async () => (await upstreamOf("app.test", "/")) === "green", 1000, "route to green");
  assert.ok(Date.now() - started < 1000);
});

test("an invalid file keeps its previous objects serving, with a clear log line", async () => {
  await writeFile(join(folder, "app.yaml"), "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: app\n  broken: [");
  await turnout.waitForLog((l) => l.msg.includes("not valid YAML") && l.file === "app.yaml", 3000);
  assert.equal(await upstreamOf("app.test", "/"), "green");
});

test("a new file adds routes and a deleted file removes them", async () => {
  await writeFile(join(folder, "extra.yaml"), yaml(ingress({ name: "extra", host: "extra.test", paths: [{ path: "/", service: "blue", port: 80 }] })));
  await turnout.waitUntil(async () => (await upstreamOf("extra.test", "/")) === "blue", 2000, "extra route");
  await rm(join(folder, "extra.yaml"));
  await turnout.waitUntil(async () => (await upstreamOf("extra.test", "/")) === "status 404", 2000, "extra route removed");
});

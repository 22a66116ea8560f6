// File mode at its edges, as a user on a laptop meets them: odd files in the folder
// (broken YAML, kinds turnout does not read, Lists, BOMs, CRLF, editor leftovers),
// the ways editors and tools save (in place, temp file + rename, truncate then
// write, many quick saves), renames, duplicates across files, symlinks,
// subdirectories and the folder itself going away. What the docs promise
// (docs/operations.md "Running without a cluster", docs/tls.md): every file that
// parses is served, a file that fails to parse keeps its previous objects and a log
// line says why, and routes that still work are never dropped.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { TurnoutProcess, answeredBy, sleep } from "./support/turnout-process.ts";
import type { LogLine } from "./support/turnout-process.ts";
import { startEchoFleet } from "./support/echo-upstream.ts";
import type { EchoUpstream } from "./support/echo-upstream.ts";
import { endpointSlice, ingress, ingressClass, service, tlsSecret } from "./support/objects.ts";
import type { Manifest } from "./support/objects.ts";
import { presentedCertificate, fingerprintOf } from "./support/tls-client.ts";
import { generateSelfSignedCertificate } from "../src/tls/self-signed.ts";

const IPS = ["127.0.0.120", "127.0.0.121"];

let folder: string;
let outside: string;
let fleet: EchoUpstream[];
let turnout: TurnoutProcess;
let markers = 0;

function yaml(...docs: Manifest[]): string {
  return docs.map((d) => dump(d)).join("---\n");
}

/** One Ingress `name` routing `host` / to Service `to` (s120 or s121). */
function route(name: string, host: string, to = "s120"): Manifest {
  return ingress({ name, host, paths: [{ path: "/", service: to, port: 80 }] });
}

function backends(): string {
  const port = fleet[0]!.port;
  return yaml(
    service("s120"),
    service("s121"),
    endpointSlice("s120-1", "s120", port, [{ ip: IPS[0]! }]),
    endpointSlice("s121-1", "s121", port, [{ ip: IPS[1]! }]),
  );
}

function put(name: string, text: string | Buffer, dir = folder): Promise<void> {
  return writeFile(join(dir, name), text);
}

/** Which upstream answered `host` (u120 / u121), or `status N`. */
async function servedBy(host: string, to: TurnoutProcess = turnout): Promise<string> {
  return answeredBy(await to.request(host, "/"));
}

async function waitServed(host: string, expected: string, to: TurnoutProcess = turnout, timeoutMs = 3000): Promise<void> {
  await to.waitUntil(async () => (await servedBy(host, to)) === expected, timeoutMs, `${host} answered by ${expected}`);
}

/**
 * Waits until turnout has rescanned the folder after every write made so far: a fresh
 * marker Ingress is written and awaited. Each rescan reads every file, so once the
 * marker is served, all earlier writes have been seen.
 */
async function settled(to: TurnoutProcess = turnout, dir = folder): Promise<void> {
  markers += 1;
  const host = `marker-${markers}.test`;
  await put("zz-marker.yaml", yaml(route("marker", host)), dir);
  await waitServed(host, "u120", to);
}

function logsAbout(file: string, to: TurnoutProcess = turnout): LogLine[] {
  return to.logs.filter((l) => JSON.stringify(l).includes(file));
}

/** Log lines a user sees at the default --log-level info that name `file`, warn or error. */
function problemsAbout(file: string, to: TurnoutProcess = turnout): LogLine[] {
  return logsAbout(file, to).filter((l) => l.level === "warn" || l.level === "error");
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "turnout-file-edges-"));
  outside = await mkdtemp(join(tmpdir(), "turnout-file-edges-outside-"));
  fleet = await startEchoFleet(["u120", "u121"], IPS);
  await put("class.yaml", yaml(ingressClass()));
  await put("backends.yaml", backends());
  await put("base.yaml", yaml(route("base", "base.test")));
  turnout = await TurnoutProcess.start({ manifests: folder });
});

after(async () => {
  await turnout?.stop();
  await Promise.all((fleet ?? []).map((u) => u.close()));
  await rm(folder, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

// --- what files are read -------------------------------------------------------------

test("a file with a UTF-8 BOM, CRLF line endings and comments is served", async () => {
  const text = `\uFEFF# saved by Notepad\r\n${yaml(route("bom", "bom.test", "s121")).replace(/\n/g, "\r\n")}`;
  await put("bom.yaml", text);
  await waitServed("bom.test", "u121");
});

test(".yml and .json files are served", async () => {
  await put("short.yml", yaml(route("short", "short.test")));
  await put("json.json", JSON.stringify(route("json", "json.test", "s121"), null, 2));
  await waitServed("short.test", "u120");
  await waitServed("json.test", "u121");
});

test("an empty file and a file of only comments load as nothing, without error, and break nothing", async () => {
  await put("empty.yaml", "");
  await put("comments.yaml", "# nothing here yet\n---\n# still nothing\n");
  await settled();
  assert.deepEqual(problemsAbout("empty.yaml"), []);
  assert.deepEqual(problemsAbout("comments.yaml"), []);
  assert.equal(await servedBy("base.test"), "u120");
});

test("editor leftovers (foo.yaml~, .foo.yaml.swp, foo.yaml.orig, .#foo.yaml) and hidden files and folders are not read", async () => {
  await put("leftover.yaml", yaml(route("leftover", "leftover.test")));
  await waitServed("leftover.test", "u120");
  // Old versions of the same Ingress, pointing elsewhere: were any read, the route would move or break.
  const old = yaml(route("leftover", "leftover.test", "s121"));
  await put("leftover.yaml~", old);
  await put(".leftover.yaml.swp", Buffer.from([0x62, 0x30, 0x56, 0x49, 0x4d, 0x20, 0x39, 0x00, 0xff, 0xfe]));
  await put("leftover.yaml.orig", old);
  await symlink("root@laptop.1234:1700000000", join(folder, ".#leftover.yaml"));
  // Hidden files and folders: a repository's .github workflows, a ConfigMap's ..data copies.
  await put(".hidden.yaml", old);
  await mkdir(join(folder, ".git"));
  await put(join(".git", "leftover.yaml"), old);
  await settled();
  assert.equal(await servedBy("leftover.test"), "u120");
  assert.deepEqual(problemsAbout("leftover.yaml~"), []);
  assert.deepEqual(problemsAbout(".leftover.yaml.swp"), []);
});

test("binary junk, tab indentation, prose and duplicate keys in .yaml files are each logged with the file; nothing else breaks", async () => {
  const junk = Buffer.alloc(512);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 151 + 7) % 256;
  await put("junk.yaml", junk);
  await put("tabs.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n\tname: tabbed\n");
  await put("prose.yaml", "This folder holds the routes for the shop. Ask Kim before editing.\n");
  await put("dupkeys.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: dup\n  name: dup2\n");
  await settled();
  for (const file of ["junk.yaml", "tabs.yaml", "prose.yaml", "dupkeys.yaml"]) {
    assert.ok(problemsAbout(file).some((l) => l.level === "error" && l.file === file), `an error line names ${file}`);
  }
  assert.equal(await servedBy("base.test"), "u120");
  assert.equal(turnout.logs.filter((l) => l.level === "stderr").length, 0, "nothing on stderr");
});

test("a multi-document file with one invalid document loads none of it (the whole file is kept as it was) and says which document", async () => {
  const good = route("multi-good", "multi-good.test");
  await put("multi.yaml", `${yaml(good)}---\n${yaml(route("multi-other", "multi-other.test"))}---\njust a string\n`);
  await settled();
  const line = problemsAbout("multi.yaml").find((l) => l.msg.startsWith("invalid object in manifest file"));
  assert.ok(line, "an error line for multi.yaml");
  assert.equal(line.document, 2, "the third document (index 2) is named");
  assert.equal((await turnout.request("multi-good.test", "/")).status, 404, "documented: the file's previous content (none) stays");
});

test("objects without metadata.namespace are in the default namespace", async () => {
  const bare = route("bare", "bare.test", "s121");
  delete bare.metadata.namespace;
  await put("bare.yaml", yaml(bare));
  await waitServed("bare.test", "u121");
});

test("an invalid object's log line names the file, the document and the object (ref namespace/name)", async () => {
  const bad = route("bad-port", "bad-port.test") as Manifest & { spec: { rules: { http: { paths: { backend: { service: { port: unknown } } }[] } }[] } };
  bad.spec.rules[0]!.http.paths[0]!.backend.service.port = { number: "80" };
  await put("many.yaml", `${yaml(route("many-1", "many-1.test"), route("many-2", "many-2.test"))}---\n${yaml(bad)}`);
  await settled();
  const line = problemsAbout("many.yaml").find((l) => l.msg.startsWith("invalid object in manifest file"));
  assert.ok(line, "an error line for many.yaml");
  assert.ok(
    JSON.stringify(line).includes("default/bad-port"),
    `the line should carry ref default/bad-port (docs/operations.md: "where an object is concerned, ref (namespace/name)"); got ${JSON.stringify(line)}`,
  );
});

test("an Ingress of an apiVersion turnout does not read (networking.k8s.io/v1beta1) is left out with a warning naming the version turnout reads", async () => {
  const old = route("old-api", "old-api.test");
  old.apiVersion = "networking.k8s.io/v1beta1";
  await put("old-api.yaml", yaml(old));
  await settled();
  assert.equal((await turnout.request("old-api.test", "/")).status, 404);
  const warning = problemsAbout("old-api.yaml").find((l) => l.ref === "default/old-api");
  assert.match(warning?.msg ?? "", /apiVersion networking\.k8s\.io\/v1beta1: turnout reads networking\.k8s\.io\/v1/, JSON.stringify(logsAbout("old-api.yaml")));
});

test("the items of a kind: List (what `kubectl get ingress,svc -o yaml` writes) are served", async () => {
  const list = { apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" }, items: [route("listed", "listed.test", "s121")] };
  await put("exported.yaml", dump(list));
  await settled();
  assert.equal(await servedBy("listed.test"), "u121");
});

test("the same Ingress twice in one file: the last one is used, with a warning", async () => {
  await put("twice.yaml", yaml(route("twice", "twice.test"), route("twice", "twice.test", "s121")));
  await settled();
  assert.equal(await servedBy("twice.test"), "u121");
  assert.ok(problemsAbout("twice.yaml").length > 0, `expected a warning that twice.yaml defines Ingress default/twice twice; got ${JSON.stringify(logsAbout("twice.yaml"))}`);
});

test("metadata.namespace: \"\" is the default namespace, as kubectl takes it", async () => {
  const blank = route("blank-ns", "blank-ns.test", "s121");
  blank.metadata.namespace = "";
  await put("blank-ns.yaml", yaml(blank));
  await settled();
  assert.equal(await servedBy("blank-ns.test"), "u121", "the Ingress should find Service default/s121");
});

test("a hand-written EndpointSlice whose port names match no Service port, or without the service-name label, is logged as serving no traffic", async () => {
  const port = fleet[0]!.port;
  const misnamed = endpointSlice("misnamed-1", "misnamed", port, [{ ip: IPS[0]! }], "default", "web");
  const unlabelled = endpointSlice("unlabelled-1", "unlabelled", port, [{ ip: IPS[0]! }]);
  delete unlabelled.metadata.labels;
  await put(
    "handmade.yaml",
    yaml(service("misnamed"), misnamed, route("misnamed", "misnamed.test", "misnamed"), service("unlabelled"), unlabelled, route("unlabelled", "unlabelled.test", "unlabelled")),
  );
  await settled();
  const misnamedAnswer = await turnout.request("misnamed.test", "/");
  assert.equal(misnamedAnswer.headers["x-turnout-error"], "TURNOUT_ERR_NO_ENDPOINTS");
  assert.equal((await turnout.request("unlabelled.test", "/")).headers["x-turnout-error"], "TURNOUT_ERR_NO_ENDPOINTS");
  // Diagnostics are logged after a problem lasts one second (docs/operations.md).
  await sleep(1200);
  const diagnostics = JSON.stringify((await turnout.debugRoutes()).diagnostics);
  for (const slice of ["misnamed-1", "unlabelled-1"]) {
    const said = turnout.logs.some((l) => (l.level === "warn" || l.level === "error") && JSON.stringify(l).includes(slice)) || diagnostics.includes(slice);
    assert.ok(said, `nothing tells the user why EndpointSlice default/${slice} serves no traffic`);
  }
});

// --- how files are saved --------------------------------------------------------------

test("write to a temp file, then rename over the original (atomic save): routing follows", async () => {
  await put("atomic.yaml", yaml(route("atomic", "atomic.test")));
  await waitServed("atomic.test", "u120");
  await put(".atomic.yaml.tmp-1234", yaml(route("atomic", "atomic.test", "s121")));
  await rename(join(folder, ".atomic.yaml.tmp-1234"), join(folder, "atomic.yaml"));
  await waitServed("atomic.test", "u121");
});

test("delete, then create again: routing follows", async () => {
  await put("recreate.yaml", yaml(route("recreate", "recreate.test")));
  await waitServed("recreate.test", "u120");
  await rm(join(folder, "recreate.yaml"));
  await put("recreate.yaml", yaml(route("recreate", "recreate.test", "s121")));
  await waitServed("recreate.test", "u121");
});

test("twenty quick saves in a row: the last one wins", async () => {
  for (let i = 0; i < 20; i++) await put("quick.yaml", yaml(route("quick", "quick.test", i % 2 === 0 ? "s121" : "s120")));
  await put("quick.yaml", yaml(route("quick", "quick.test", "s121")));
  await waitServed("quick.test", "u121");
  await settled();
  assert.equal(await servedBy("quick.test"), "u121");
});

test("`kubectl get ingress -o yaml > file` (truncate, then the write 300 ms later) keeps the working route meanwhile", async () => {
  await put("redirected.yaml", yaml(route("redirected", "redirected.test")));
  await waitServed("redirected.test", "u120");
  // The shell truncates at once; kubectl writes after its API round trip.
  await put("redirected.yaml", "");
  const seen = new Set<string>();
  const deadline = Date.now() + 300;
  while (Date.now() < deadline) {
    seen.add(await servedBy("redirected.test"));
    await sleep(10);
  }
  await put("redirected.yaml", yaml(route("redirected", "redirected.test")));
  await waitServed("redirected.test", "u120");
  assert.deepEqual([...seen], ["u120"], "a file being rewritten must not drop the routes it served");
});

test("a removed file removes its routes", async () => {
  await put("removed.yaml", yaml(route("removed", "removed.test")));
  await waitServed("removed.test", "u120");
  await rm(join(folder, "removed.yaml"));
  await waitServed("removed.test", "status 404");
});

test("renaming a file out of the pattern (app.yaml -> app.yaml.disabled) removes its routes, and back restores them", async () => {
  await put("toggle.yaml", yaml(route("toggle", "toggle.test")));
  await waitServed("toggle.test", "u120");
  await rename(join(folder, "toggle.yaml"), join(folder, "toggle.yaml.disabled"));
  await waitServed("toggle.test", "status 404");
  await rename(join(folder, "toggle.yaml.disabled"), join(folder, "toggle.yaml"));
  await waitServed("toggle.test", "u120");
});

test("renaming a file (mv a.yaml b.yaml) keeps its routes", async () => {
  await put("before-rename.yaml", yaml(route("renamed", "renamed.test")));
  await waitServed("renamed.test", "u120");
  await rename(join(folder, "before-rename.yaml"), join(folder, "after-rename.yaml"));
  await settled();
  assert.equal(await servedBy("renamed.test"), "u120", "the same objects under a new file name must keep serving");
});

test("two files defining the same Ingress: the first by name is used, a warning names both, and deleting it hands over to the other", async () => {
  // Moving an Ingress to another file, saving the new file first, is this situation.
  await put("dup-a.yaml", yaml(route("dup", "dup.test")));
  await waitServed("dup.test", "u120");
  await put("dup-b.yaml", yaml(route("dup", "dup.test", "s121")));
  await settled();
  assert.equal(await servedBy("dup.test"), "u120", "dup-a.yaml comes first by name");
  const warning = problemsAbout("dup-b.yaml").find((l) => l.ref === "default/dup");
  assert.deepEqual(warning?.files, ["dup-a.yaml", "dup-b.yaml"]);
  await rm(join(folder, "dup-a.yaml"));
  await waitServed("dup.test", "u121");
});

test("an Ingress exported with metadata.resourceVersion (kubectl get -o yaml) follows every later edit", async () => {
  const exported = route("exported", "exported.test");
  exported.metadata.resourceVersion = "48213";
  exported.metadata.uid = "3c1f4b5e-8a4e-4b0e-9a55-0d1f0b1f2c3d";
  await put("rv.yaml", yaml(exported));
  await waitServed("exported.test", "u120");
  const edited = route("exported", "exported.test", "s121");
  edited.metadata.resourceVersion = "48213";
  edited.metadata.uid = "3c1f4b5e-8a4e-4b0e-9a55-0d1f0b1f2c3d";
  await put("rv.yaml", yaml(edited));
  await settled();
  assert.equal(await servedBy("exported.test"), "u121", "the edited backend must be served");
});

test("a large file (2,000 Ingresses, about 0.5 MB) loads, follows an edit to one Ingress, and goes away when deleted", async () => {
  const many = (last: string): string => yaml(...Array.from({ length: 2000 }, (_, i) => route(`large-${i}`, `large-${i}.test`, i === 1999 ? last : "s120")));
  await put("large.yaml", many("s120"));
  await waitServed("large-1999.test", "u120", turnout, 5000);
  await put("large.yaml", many("s121"));
  await waitServed("large-1999.test", "u121", turnout, 5000);
  assert.equal(await servedBy("large-0.test"), "u120");
  await rm(join(folder, "large.yaml"));
  await waitServed("large-0.test", "status 404", turnout, 5000);
});

// --- folder layout --------------------------------------------------------------------

test("files in a subdirectory created after start are served (recursive; docs/operations.md says only 'a folder')", async () => {
  await mkdir(join(folder, "team-a", "apps"), { recursive: true });
  await put(join("team-a", "apps", "nested.yaml"), yaml(route("nested", "nested.test", "s121")));
  await waitServed("nested.test", "u121");
});

test("a symbolic link to a manifest file is read", async () => {
  await put("linked.yaml", yaml(route("linked", "linked.test", "s121")), outside);
  await symlink(join(outside, "linked.yaml"), join(folder, "linked.yaml"));
  await settled();
  assert.equal(await servedBy("linked.test"), "u121");
});

test("an Opaque Secret in the folder is not read for TLS, as in a cluster (docs/tls.md): the default certificate is presented", async () => {
  const cert = generateSelfSignedCertificate({ commonName: "opaque.test", dnsNames: ["opaque.test"] });
  const withTls = ingress({ name: "opaque", host: "opaque.test", paths: [{ path: "/", service: "s120", port: 80 }], tls: [{ hosts: ["opaque.test"], secretName: "opaque-tls" }] });
  await put("opaque.yaml", yaml(tlsSecret("opaque-tls", cert, { type: "Opaque" }), withTls));
  await settled();
  const presented = await presentedCertificate(turnout.httpsPort, "opaque.test");
  assert.notEqual(presented.fingerprint, fingerprintOf(cert), "docs/tls.md: Secrets of type Opaque are not read, the host gets the default certificate");
});

// --- the folder itself --------------------------------------------------------------

test("--manifests naming a folder that does not exist, or a file: exit 1 with an error line naming it", async () => {
  await put("single.yaml", yaml(route("single", "single.test")), outside);
  for (const wrong of [join(outside, "no-such-folder"), join(outside, "single.yaml")]) {
    const t = await TurnoutProcess.start({ manifests: wrong, skipReadyWait: true });
    try {
      assert.equal(await t.exited, 1);
      assert.ok(t.logs.some((l) => l.level === "error" && JSON.stringify(l).includes(wrong)), t.dumpLogs(10));
    } finally {
      await t.stop();
    }
  }
});

test("the folder deleted (rm -rf, a checkout, a sync tool): turnout keeps serving its last routes and follows the folder when it is back", async () => {
  const own = await mkdtemp(join(tmpdir(), "turnout-file-edges-gone-"));
  await put("class.yaml", yaml(ingressClass()), own);
  await put("backends.yaml", backends(), own);
  await put("app.yaml", yaml(route("app", "gone.test")), own);
  await put("broken.yaml", "kind: [unclosed\n", own);
  const t = await TurnoutProcess.start({ manifests: own });
  let exitCode: number | null | undefined;
  void t.exited.then((code) => (exitCode = code));
  try {
    // A broken file at start-up is logged; the rest is served and turnout is ready.
    await waitServed("gone.test", "u120", t);
    assert.ok(problemsAbout("broken.yaml", t).length > 0);
    await rm(own, { recursive: true, force: true });
    // Give turnout time to notice (its settle time is 50 ms): it must stay up and keep the last good routes.
    const deadline = Date.now() + 500;
    while (Date.now() < deadline && exitCode === undefined) await sleep(20);
    assert.equal(exitCode, undefined, `turnout exited (${String(exitCode)}): ${t.logs.filter((l) => l.level === "stderr" && /Error|ENOENT/.test(l.msg)).map((l) => l.msg.trim()).join(" | ")}`);
    assert.equal(await servedBy("gone.test", t), "u120", "the last good routes keep serving");
    // The folder comes back with an edit: turnout follows it.
    await mkdir(own);
    await put("class.yaml", yaml(ingressClass()), own);
    await put("backends.yaml", backends(), own);
    await put("app.yaml", yaml(route("app", "gone.test", "s121")), own);
    await waitServed("gone.test", "u121", t, 4000);
  } finally {
    await t.stop();
    await rm(own, { recursive: true, force: true });
  }
});

test("a file saved while turnout loads the folder at start-up is served (the watch starts before the first scan)", async () => {
  const own = await mkdtemp(join(tmpdir(), "turnout-file-edges-early-"));
  await put("class.yaml", yaml(ingressClass()), own);
  await put("backends.yaml", backends(), own);
  // Enough Ingresses that the first load takes a moment.
  await put("bulk.yaml", yaml(...Array.from({ length: 3000 }, (_, i) => route(`bulk-${i}`, `bulk-${i}.test`))), own);
  const t = await TurnoutProcess.start({ manifests: own, skipReadyWait: true });
  try {
    await sleep(50);
    await put("early.yaml", yaml(route("early", "early.test", "s121")), own);
    await t.waitUntil(async () => (await t.admin("/readyz")).status === 200, 15_000, "readyz");
    assert.equal(await servedBy("bulk-2999.test", t), "u120");
    await t.waitUntil(async () => (await servedBy("early.test", t)) === "u121", 2000, "early.yaml served").catch(() => undefined);
    assert.equal(await servedBy("early.test", t), "u121", "early.yaml, written after the start-up scan began, must be served");
  } finally {
    await t.stop();
    await rm(own, { recursive: true, force: true });
  }
});

// A worker's replica ends up with the primary's endpoints, health flags, table and
// Secrets, whether it joined at the start or late (snapshot), as long as it applies
// the messages in channel order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { deserialize, serialize } from "node:v8";
import { ClusterStore } from "../store/index.ts";
import type { EndpointSlice, Secret } from "../store/index.ts";
import { EndpointRegistry } from "../endpoints/index.ts";
import { RouteTableHolder } from "../routing/published-table.ts";
import type { BackendRef, RouteTable } from "../routing/route-table.ts";
import { parsePrimaryMessage } from "./messages.ts";
import type { PrimaryMessage, ReplicationMessage } from "./messages.ts";
import { Replica, activeCheckChanges, failedActiveChecks, snapshotMessage, tableMessage, tableUpdate } from "./replication.ts";
import type { PublishedTable } from "../routing/published-table.ts";
import { describeRouteTable } from "../routing/index.ts";
import type { Ingress } from "../store/index.ts";
import { TranslationCache, buildRouteTable } from "../translate/index.ts";
import { at, service, simpleIngress, snapshot } from "../translate/test-objects.ts";

const SELF_SIGNED = { cert: "cert", key: "key" };
const PORTS = { http: 8080, https: 8443 };

function slice(service: string, name: string, ips: string[]): EndpointSlice {
  return {
    kind: "EndpointSlice",
    meta: { namespace: "shop", name, uid: name, resourceVersion: "", generation: 1, creationTimestamp: "", labels: {}, annotations: {} },
    serviceName: service,
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
  };
}

function tlsSecret(name: string, version: string): Secret {
  return {
    kind: "Secret",
    meta: { namespace: "shop", name, uid: name, resourceVersion: version, generation: 1, creationTimestamp: "", labels: {}, annotations: {} },
    type: "kubernetes.io/tls",
    data: { "tls.crt": `cert ${version}`, "tls.key": "key" },
  };
}

const BACKENDS: BackendRef[] = ["web", "api"].map((service) => ({ key: `shop/${service}:80`, namespace: "shop", service, port: 80, portName: "http" }));

function emptyTable(hosts: number): RouteTable {
  return { exactHosts: new Map(Array.from({ length: hosts }, (_, i) => [`h${i}.test`, { host: `h${i}.test`, exact: new Map(), prefix: new Map() }])), wildcardHosts: new Map(), backends: BACKENDS };
}

/** What the proxy would see: per backend, every address and the usable ones. */
function view(registry: EndpointRegistry): Record<string, { all: string[]; usable: string[] }> {
  const result: Record<string, { all: string[]; usable: string[] }> = {};
  for (const backend of BACKENDS) {
    const set = registry.endpointSet(backend);
    result[backend.key] = { all: set.all.map((e) => e.address), usable: set.usable.map((e) => e.address) };
  }
  return result;
}

/** The primary's side as the primary wires it: store -> registry, store changes -> messages, flag diffs after each step. */
class PrimarySide {
  readonly store = new ClusterStore();
  readonly registry = new EndpointRegistry();
  readonly holder = new RouteTableHolder();
  readonly sent: PrimaryMessage[] = [];
  #sentFailing = new Set<string>();

  constructor() {
    this.store.onChange((change) => {
      const { object } = change;
      if (object.kind === "EndpointSlice") {
        if (change.type === "upsert") this.registry.applySlice(object);
        else this.registry.deleteSlice(object);
        this.sent.push({ type: "slice", change: change.type, slice: object });
      } else if (object.kind === "Secret") {
        this.sent.push({ type: "secret", change: change.type, secret: object });
      }
      this.syncFlags();
    });
  }

  setFailing(address: string, failed: boolean): void {
    this.registry.setFailedActiveCheck(address, failed);
    this.syncFlags();
  }

  publish(table: RouteTable): void {
    this.sent.push(tableMessage(this.holder.publish(table, 1000)));
  }

  snapshot(): PrimaryMessage {
    return snapshotMessage({ selfSigned: SELF_SIGNED, ports: PORTS, published: this.holder.current, store: this.store, registry: this.registry });
  }

  syncFlags(): void {
    const failing = new Set(failedActiveChecks(this.registry));
    this.sent.push(...activeCheckChanges(this.#sentFailing, failing));
    this.#sentFailing = failing;
  }
}

class WorkerSide {
  readonly registry = new EndpointRegistry();
  readonly holder = new RouteTableHolder();
  readonly tables: RouteTable[] = [];
  readonly certificateUpdates: string[][] = [];
  readonly replica = new Replica({
    holder: this.holder,
    registry: this.registry,
    onTable: (table) => this.tables.push(table),
    onCertificates: (_table, secrets) => this.certificateUpdates.push(secrets.map((s) => `${s.meta.name}@${s.meta.resourceVersion}`).sort()),
  });

  /** Through the bytes of an advanced-serialization channel, and the parser. */
  receive(...messages: PrimaryMessage[]): void {
    for (const message of messages) {
      const parsed = parsePrimaryMessage(deserialize(serialize(message)));
      if (!parsed.ok) assert.fail(parsed.error);
      this.replica.apply(parsed.message as ReplicationMessage);
    }
  }
}

test("a worker present from the start and one joining late both converge on the primary's state", () => {
  const primary = new PrimarySide();
  const early = new WorkerSide();
  early.receive(primary.snapshot());
  let delivered = primary.sent.length;
  const deliverToEarly = (): void => {
    early.receive(...primary.sent.slice(delivered));
    delivered = primary.sent.length;
  };

  primary.store.upsert(slice("web", "web-1", ["10.0.0.1", "10.0.0.2"]));
  primary.store.upsert(slice("api", "api-1", ["10.0.1.1"]));
  primary.publish(emptyTable(1));
  primary.setFailing("10.0.0.2:8080", true);
  deliverToEarly();
  assert.deepEqual(view(early.registry), view(primary.registry));
  assert.deepEqual(view(early.registry)["shop/web:80"], { all: ["10.0.0.1:8080", "10.0.0.2:8080"], usable: ["10.0.0.1:8080"] });

  const late = new WorkerSide();
  late.receive(primary.snapshot());
  const lateFrom = primary.sent.length;
  assert.deepEqual(view(late.registry), view(primary.registry));
  assert.equal(late.replica.generation, 1);

  // Scale up, a flag clears, a slice goes away, a new table: both workers follow.
  primary.store.upsert(slice("web", "web-1", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]));
  primary.setFailing("10.0.0.2:8080", false);
  primary.setFailing("10.0.0.3:8080", true);
  primary.store.delete("EndpointSlice", "shop", "api-1");
  primary.publish(emptyTable(2));
  deliverToEarly();
  late.receive(...primary.sent.slice(lateFrom));
  for (const worker of [early, late]) {
    assert.deepEqual(view(worker.registry), view(primary.registry));
    assert.deepEqual(worker.registry.unhealthyAddresses(), primary.registry.unhealthyAddresses());
    assert.equal(worker.replica.generation, 2);
    assert.equal(worker.holder.current?.table.exactHosts.size, 2);
  }
  assert.deepEqual(view(early.registry)["shop/api:80"], { all: [], usable: [] });
});

test("a flag for an address whose slice has not arrived is ignored, so flags travel after slices", () => {
  const worker = new WorkerSide();
  worker.receive({ type: "snapshot", selfSigned: SELF_SIGNED, ports: PORTS, slices: [], secrets: [], failedActiveChecks: [] });
  worker.receive({ type: "active-check", address: "10.0.0.1:8080", failed: true });
  worker.receive({ type: "slice", change: "upsert", slice: slice("web", "web-1", ["10.0.0.1", "10.0.0.2"]) });
  assert.equal(worker.registry.health("10.0.0.1:8080"), undefined);
  assert.deepEqual(view(worker.registry)["shop/web:80"]?.usable, ["10.0.0.1:8080", "10.0.0.2:8080"]);
  worker.receive({ type: "active-check", address: "10.0.0.1:8080", failed: true });
  assert.deepEqual(view(worker.registry)["shop/web:80"]?.usable, ["10.0.0.2:8080"]);
});

test("tables: only newer generations are served; certificates follow tables and Secrets once a table exists", () => {
  const worker = new WorkerSide();
  worker.receive({ type: "snapshot", selfSigned: SELF_SIGNED, ports: PORTS, slices: [], secrets: [tlsSecret("a", "1")], failedActiveChecks: [] });
  const servedHosts = (): number | undefined => worker.holder.current?.table.exactHosts.size;
  assert.equal(servedHosts(), undefined);
  worker.receive({ type: "secret", change: "upsert", secret: tlsSecret("b", "1") });
  assert.deepEqual(worker.certificateUpdates, [], "no certificates before the first table");
  worker.receive({ type: "table", generation: 3, publishedAt: 1, table: emptyTable(3) });
  assert.deepEqual(worker.certificateUpdates, [["a@1", "b@1"]]);
  worker.receive({ type: "table", generation: 3, publishedAt: 2, table: emptyTable(1) });
  worker.receive({ type: "table", generation: 2, publishedAt: 3, table: emptyTable(1) });
  assert.equal(worker.tables.length, 1);
  assert.equal(servedHosts(), 3);
  worker.receive({ type: "secret", change: "upsert", secret: tlsSecret("a", "2") });
  worker.receive({ type: "secret", change: "delete", secret: tlsSecret("b", "1") });
  assert.deepEqual(worker.certificateUpdates.slice(1), [["a@2", "b@1"], ["a@2"]]);
  assert.equal(worker.replica.generation, 3);
});

test("activeCheckChanges: the deltas between two failing sets, sorted", () => {
  const cases: [string[], string[], string[]][] = [
    [[], [], []],
    [[], ["b", "a"], ["a failed", "b failed"]],
    [["a", "b"], ["b"], ["a ok"]],
    [["a"], ["c"], ["a ok", "c failed"]],
  ];
  for (const [before, after, expected] of cases) {
    const got = activeCheckChanges(new Set(before), new Set(after)).map((c) => `${c.address} ${c.failed ? "failed" : "ok"}`);
    assert.deepEqual(got, expected, `${before.join(",")} -> ${after.join(",")}`);
  }
});

test("table deltas: a worker following them serves what the primary serves, and a small edit sends only its host", () => {
  const cache = new TranslationCache();
  const services = ["a", "b", "c", "d"].map((name) => service(name));
  const hostsOf = (version: number): Ingress[] =>
    Array.from({ length: 20 }, (_, i) =>
      simpleIngress(`app${i}`, `app${i}.example.com`, i === version % 20 ? `/v${version}` : "/", ["a", "b", "c", "d"][(i + version) % 4] ?? "a", {
        created: at(i % 50),
        resourceVersion: String(i === version % 20 ? version : 0),
      }),
    );
  const primaryHolder = new RouteTableHolder();
  const worker = new WorkerSide();
  worker.receive({ type: "snapshot", selfSigned: SELF_SIGNED, ports: PORTS, slices: [], secrets: [], failedActiveChecks: [] });
  let previous: PublishedTable | undefined;
  const sentHosts: number[] = [];
  let ingresses = hostsOf(0).map((ingress) => ({ ...ingress, meta: { ...ingress.meta, resourceVersion: "0" } }));
  for (let version = 1; version <= 12; version++) {
    // Each round edits one Ingress; the other objects stay the same objects, as in the store.
    const edited = hostsOf(version)[version % 20] as Ingress;
    ingresses = ingresses.map((ingress) => (ingress.meta.name === edited.meta.name ? edited : ingress));
    if (version === 6) ingresses = ingresses.filter((ingress) => ingress.meta.name !== "app3");
    const published = primaryHolder.publish(buildRouteTable(snapshot({ ingresses, services }), cache).table, version);
    const update = tableUpdate(previous, published);
    if (update.type === "table-delta") sentHosts.push(update.exactHosts.set.length + update.exactHosts.remove.length);
    worker.receive(update);
    previous = published;
    assert.deepEqual(describeRouteTable(worker.holder.current?.table as RouteTable), describeRouteTable(published.table), `version ${version}`);
    assert.equal(worker.replica.generation, published.generation);
  }
  assert.equal(sentHosts.length, 11, "the first table goes whole, the rest as deltas");
  // Round 6 also deletes an Ingress: its host goes too.
  assert.deepEqual(sentHosts, [1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1]);
});

test("a table delta that does not fit the table held asks for the whole table instead of serving a wrong one", () => {
  const resyncs: number[] = [];
  const holder = new RouteTableHolder();
  const replica = new Replica({ holder, registry: new EndpointRegistry(), onResync: (generation) => resyncs.push(generation) });
  replica.apply({ type: "table", generation: 3, publishedAt: 1, table: emptyTable(1) });
  const noChanges = { set: [], remove: [] };
  replica.apply({ type: "table-delta", generation: 5, base: 4, publishedAt: 2, exactHosts: noChanges, wildcardHosts: noChanges, anyHost: null, defaultBackend: null, backends: noChanges });
  assert.deepEqual(resyncs, [3]);
  assert.equal(replica.generation, 3);
  replica.apply({ type: "table", generation: 5, publishedAt: 3, table: emptyTable(2) });
  assert.equal(holder.current?.table.exactHosts.size, 2);
});

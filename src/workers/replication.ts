// State replication from the primary to its workers: the snapshot a new worker
// starts from, tables and active-check flag changes as deltas, and the worker-side
// Replica that applies them to its own route-table holder, endpoint registry and Secrets.
import type { ClusterStore, Secret } from "../store/index.ts";
import { objectKey } from "../store/index.ts";
import type { EndpointRegistry } from "../endpoints/index.ts";
import type { PublishedTable, RouteTableHolder } from "../routing/published-table.ts";
import type { BackendRef, HostRoutes, RouteTable } from "../routing/route-table.ts";
import type { CertificatePem } from "../tls/index.ts";
import type { PrimaryMessage, PublishedTableMessage, ReplicationMessage, SnapshotMessage, TableDeltaMessage } from "./messages.ts";

export type ActiveCheckMessage = Extract<PrimaryMessage, { type: "active-check" }>;

export function tableMessage(published: PublishedTable): Extract<PrimaryMessage, { type: "table" }> {
  return { type: "table", generation: published.generation, publishedAt: published.publishedAt, table: published.table };
}

type HostChanges = TableDeltaMessage["exactHosts"];

/** Hosts compared by identity: translation shares an unchanged host's routes between tables. */
function hostChanges(before: ReadonlyMap<string, HostRoutes>, after: ReadonlyMap<string, HostRoutes>): HostChanges {
  const set: [string, HostRoutes][] = [];
  for (const [key, routes] of after) if (before.get(key) !== routes) set.push([key, routes]);
  const remove = [...before.keys()].filter((key) => !after.has(key));
  return { set, remove };
}

function backendChanges(before: readonly BackendRef[], after: readonly BackendRef[]): TableDeltaMessage["backends"] {
  if (before === after) return { set: [], remove: [] };
  const old = new Map(before.map((backend) => [backend.key, backend]));
  const keys = new Set(after.map((backend) => backend.key));
  return { set: after.filter((backend) => old.get(backend.key) !== backend), remove: [...old.keys()].filter((key) => !keys.has(key)) };
}

/**
 * Pure. What workers need to go from `previous` to `next`: the whole table when there
 * is no previous one or most hosts changed, else only the changed hosts and backends.
 */
export function tableUpdate(previous: PublishedTable | undefined, next: PublishedTable): Extract<PrimaryMessage, { type: "table" | "table-delta" }> {
  if (!previous) return tableMessage(next);
  const exactHosts = hostChanges(previous.table.exactHosts, next.table.exactHosts);
  const wildcardHosts = hostChanges(previous.table.wildcardHosts, next.table.wildcardHosts);
  const changed = exactHosts.set.length + exactHosts.remove.length + wildcardHosts.set.length + wildcardHosts.remove.length;
  if (changed * 2 > next.table.exactHosts.size + next.table.wildcardHosts.size) return tableMessage(next);
  return {
    type: "table-delta",
    generation: next.generation,
    base: previous.generation,
    publishedAt: next.publishedAt,
    exactHosts,
    wildcardHosts,
    anyHost: next.table.anyHost ?? null,
    defaultBackend: next.table.defaultBackend ?? null,
    backends: backendChanges(previous.table.backends, next.table.backends),
  };
}

function applyHostChanges(before: ReadonlyMap<string, HostRoutes>, changes: HostChanges): Map<string, HostRoutes> {
  const after = new Map(before);
  for (const key of changes.remove) after.delete(key);
  for (const [key, routes] of changes.set) after.set(key, routes);
  return after;
}

/** Pure. `base` with `delta` applied (host Map order may differ from the primary's; lookups do not depend on it). */
function applyTableDelta(base: RouteTable, delta: TableDeltaMessage): RouteTable {
  const removed = new Set(delta.backends.remove);
  const replaced = new Map(delta.backends.set.map((backend) => [backend.key, backend]));
  const backends = base.backends.filter((backend) => !removed.has(backend.key) && !replaced.has(backend.key));
  backends.push(...delta.backends.set);
  const table: RouteTable = {
    exactHosts: applyHostChanges(base.exactHosts, delta.exactHosts),
    wildcardHosts: applyHostChanges(base.wildcardHosts, delta.wildcardHosts),
    backends,
  };
  if (delta.anyHost) table.anyHost = delta.anyHost;
  if (delta.defaultBackend) table.defaultBackend = delta.defaultBackend;
  return table;
}

/** Addresses failing their active health check now, sorted. */
export function failedActiveChecks(registry: EndpointRegistry): string[] {
  return registry
    .unhealthyAddresses()
    .filter((entry) => entry.failedActiveCheck)
    .map((entry) => entry.address);
}

/** Pure. The messages that turn the failing set `before` into `after`, sorted by address. */
export function activeCheckChanges(before: ReadonlySet<string>, after: ReadonlySet<string>): ActiveCheckMessage[] {
  const changes: ActiveCheckMessage[] = [];
  for (const address of after) if (!before.has(address)) changes.push({ type: "active-check", address, failed: true });
  for (const address of before) if (!after.has(address)) changes.push({ type: "active-check", address, failed: false });
  return changes.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Everything a worker needs to serve, as of now. Flags come after the slices naming their addresses. */
export function snapshotMessage(input: {
  selfSigned: CertificatePem;
  ports: { http: number; https: number };
  published: PublishedTable | undefined;
  store: ClusterStore;
  registry: EndpointRegistry;
}): SnapshotMessage {
  const { published } = input;
  return {
    type: "snapshot",
    selfSigned: input.selfSigned,
    ports: input.ports,
    ...(published ? { published: { generation: published.generation, publishedAt: published.publishedAt, table: published.table } } : {}),
    slices: input.store.list("EndpointSlice"),
    secrets: input.store.list("Secret"),
    failedActiveChecks: failedActiveChecks(input.registry),
  };
}

export interface ReplicaOptions {
  holder: RouteTableHolder;
  registry: EndpointRegistry;
  /** After a new table is in the holder. */
  onTable?: (table: RouteTable) => void;
  /** After the table or a Secret changed, once a table exists (certificates follow both, as in the control plane). */
  onCertificates?: (table: RouteTable, secrets: readonly Secret[]) => void;
  /** A table delta did not fit the table held (never expected on an ordered channel): ask for the whole table. */
  onResync?: (generation: number) => void;
}

/** A worker's copy of what the primary knows, kept current by ReplicationMessages in channel order. */
export class Replica {
  readonly #o: ReplicaOptions;
  readonly #secrets = new Map<string, Secret>();
  #generation = 0;

  constructor(options: ReplicaOptions) {
    this.#o = options;
  }

  /** The primary's generation of the table in the holder; 0 before the first. */
  get generation(): number {
    return this.#generation;
  }

  get secrets(): Secret[] {
    return [...this.#secrets.values()];
  }

  /** A snapshot must come first, once; the rest are deltas on top of it. */
  apply(message: ReplicationMessage): void {
    const { registry } = this.#o;
    switch (message.type) {
      case "snapshot":
        for (const slice of message.slices) registry.applySlice(slice);
        for (const address of message.failedActiveChecks) registry.setFailedActiveCheck(address, true);
        for (const secret of message.secrets) this.#secrets.set(objectKey(secret.meta), secret);
        if (message.published) this.#publish(message.published);
        return;
      case "table":
        this.#publish(message);
        return;
      case "table-delta": {
        if (message.generation <= this.#generation) return;
        const current = this.#o.holder.current;
        if (!current || message.base !== this.#generation) {
          this.#o.onResync?.(this.#generation);
          return;
        }
        this.#publish({ generation: message.generation, publishedAt: message.publishedAt, table: applyTableDelta(current.table, message) });
        return;
      }
      case "slice":
        if (message.change === "upsert") registry.applySlice(message.slice);
        else registry.deleteSlice(message.slice);
        return;
      case "secret":
        if (message.change === "upsert") this.#secrets.set(objectKey(message.secret.meta), message.secret);
        else this.#secrets.delete(objectKey(message.secret.meta));
        this.#certificates();
        return;
      case "active-check":
        registry.setFailedActiveCheck(message.address, message.failed);
        return;
    }
  }

  #publish(published: PublishedTableMessage): void {
    // Generations only grow; an older table (never expected on an ordered channel) is not served.
    if (published.generation <= this.#generation) return;
    this.#o.holder.publish(published.table, published.publishedAt);
    this.#generation = published.generation;
    this.#o.onTable?.(published.table);
    this.#certificates();
  }

  #certificates(): void {
    const table = this.#o.holder.current?.table;
    if (table) this.#o.onCertificates?.(table, this.secrets);
  }
}

// State replication from the primary to its workers: the snapshot a new worker
// starts from, active-check flag changes as deltas, and the worker-side Replica
// that applies them to its own route-table holder, endpoint registry and Secrets.
import type { ClusterStore, Secret } from "../store/index.ts";
import { objectKey } from "../store/index.ts";
import type { EndpointRegistry } from "../endpoints/index.ts";
import type { PublishedTable, RouteTableHolder } from "../routing/published-table.ts";
import type { RouteTable } from "../routing/route-table.ts";
import type { CertificatePem } from "../tls/index.ts";
import type { PrimaryMessage, PublishedTableMessage, ReplicationMessage, SnapshotMessage } from "./messages.ts";

export type ActiveCheckMessage = Extract<PrimaryMessage, { type: "active-check" }>;

export function tableMessage(published: PublishedTable): Extract<PrimaryMessage, { type: "table" }> {
  return { type: "table", generation: published.generation, publishedAt: published.publishedAt, table: published.table };
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
  published: PublishedTable | undefined;
  store: ClusterStore;
  registry: EndpointRegistry;
}): SnapshotMessage {
  const { published } = input;
  return {
    type: "snapshot",
    selfSigned: input.selfSigned,
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

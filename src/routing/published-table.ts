// The one reference the proxy reads per request; the reconciler replaces it whole.
import type { RouteTable } from "./route-table.ts";

export interface PublishedTable {
  table: RouteTable;
  /** Monotonically increasing; 0 before the first publish. */
  generation: number;
  /** Epoch ms of the publish. */
  publishedAt: number;
}

export class RouteTableHolder {
  #current: PublishedTable | undefined;

  get current(): PublishedTable | undefined {
    return this.#current;
  }

  publish(table: RouteTable, publishedAt: number): PublishedTable {
    const next: PublishedTable = { table, generation: (this.#current?.generation ?? 0) + 1, publishedAt };
    this.#current = next;
    return next;
  }
}

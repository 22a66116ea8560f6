// Reconciler: level-triggered, debounced rebuilds of the route table. Store
// changes mark it dirty; a hold-off timer with a maximum delay coalesces bursts;
// nothing is published before every source has synced; an identical table is
// not republished. EndpointSlice changes go to the EndpointRegistry only.
import type { ClusterStore, StoreChange } from "../store/cluster-store.ts";
import type { Ingress } from "../store/objects.ts";
import { objectKey } from "../store/objects.ts";
import type { TranslateSettings } from "../store/snapshot.ts";
import { buildRouteTable } from "../translate/index.ts";
import { routeTableFingerprint } from "../routing/index.ts";
import type { RouteTableHolder, PublishedTable } from "../routing/published-table.ts";
import type { RouteTable, TranslationResult } from "../routing/route-table.ts";
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { Logger } from "../observability/logger.ts";
import type { DiagnosticReporter } from "./diagnostic-reporter.ts";
import { channels, publishRebuild } from "../observability/events.ts";

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface RebuildOutcome {
  result: TranslationResult;
  /** The table now published (new or unchanged). */
  published: PublishedTable;
  changed: boolean;
  durationMs: number;
}

export interface ReconcilerOptions {
  store: ClusterStore;
  registry: EndpointRegistry;
  holder: RouteTableHolder;
  settings: TranslateSettings;
  logger: Logger;
  diagnostics: DiagnosticReporter;
  /** Wait this long after the last change before rebuilding. */
  holdoffMs?: number;
  /** But never longer than this after the first unbuilt change. */
  maxDelayMs?: number;
  timers?: Timers;
  onRebuild?: (outcome: RebuildOutcome) => void;
}

export class Reconciler {
  readonly #o: Required<Omit<ReconcilerOptions, "onRebuild">> & Pick<ReconcilerOptions, "onRebuild">;
  #synced = false;
  #dirtySince: number | undefined;
  #timer: unknown;
  #fingerprint: string | undefined;
  #lastAccepted = new Map<string, Ingress>();
  #rebuilds = 0;

  constructor(options: ReconcilerOptions) {
    this.#o = { holdoffMs: 50, maxDelayMs: 500, timers: realTimers, ...options };
    options.store.onChange((change) => this.#onStoreChange(change));
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Number of rebuilds run so far. */
  get rebuilds(): number {
    return this.#rebuilds;
  }

  /** Every source has delivered its initial state: build and publish the first table now. */
  markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    this.rebuildNow();
  }

  /** Runs a rebuild immediately (cancelling a pending one). */
  rebuildNow(): RebuildOutcome | undefined {
    const { timers } = this.#o;
    if (this.#timer !== undefined) timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    const dirtySince = this.#dirtySince;
    this.#dirtySince = undefined;
    if (!this.#synced) return undefined;
    return this.#rebuild(dirtySince);
  }

  stop(): void {
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onStoreChange(change: StoreChange): void {
    if (change.object.kind === "EndpointSlice") {
      if (change.type === "upsert") this.#o.registry.applySlice(change.object);
      else this.#o.registry.deleteSlice(change.object);
      return;
    }
    if (change.type === "delete" && change.object.kind === "Ingress") {
      this.#lastAccepted.delete(objectKey(change.object.meta));
    }
    this.#markDirty();
  }

  #markDirty(): void {
    if (!this.#synced) return;
    const { timers, holdoffMs, maxDelayMs } = this.#o;
    const now = timers.now();
    this.#dirtySince ??= now;
    if (this.#timer !== undefined) timers.clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(holdoffMs, this.#dirtySince + maxDelayMs - now));
    this.#timer = timers.setTimeout(() => {
      const since = this.#dirtySince;
      this.#timer = undefined;
      this.#dirtySince = undefined;
      this.#rebuild(since);
    }, wait);
  }

  #publishRebuild(table: RouteTable, generation: number, changed: boolean, durationMs: number, dirtySince: number | undefined): void {
    let routes = table.defaultBackend ? 1 : 0;
    for (const host of [...table.exactHosts.values(), ...table.wildcardHosts.values(), ...(table.anyHost ? [table.anyHost] : [])]) {
      routes += host.exact.size + host.prefix.size + (host.fallback ? 1 : 0);
    }
    publishRebuild({
      result: changed ? "published" : "unchanged",
      durationSeconds: durationMs / 1000,
      generation,
      routes,
      backends: table.backends.length,
      endpoints: table.backends.reduce((sum, b) => sum + this.#o.registry.endpointSet(b).all.length, 0),
      ...(changed && dirtySince !== undefined ? { applyLatencySeconds: (this.#o.timers.now() - dirtySince) / 1000 } : {}),
    });
  }

  /** `dirtySince`: when the first change this rebuild includes was seen (for the apply-latency metric). */
  #rebuild(dirtySince?: number): RebuildOutcome {
    const { store, settings, holder, timers, logger, diagnostics } = this.#o;
    const started = performance.now();
    this.#rebuilds += 1;
    const result = buildRouteTable(store.snapshot(settings, this.#lastAccepted));
    for (const key of result.accepted) {
      const [namespace = "", name = ""] = key.split("/");
      const ingress = store.get("Ingress", namespace, name);
      if (ingress) this.#lastAccepted.set(key, ingress);
    }
    const fingerprint = routeTableFingerprint(result.table);
    const changed = fingerprint !== this.#fingerprint || holder.current === undefined;
    let published = holder.current;
    if (changed || published === undefined) {
      published = holder.publish(result.table, timers.now());
      this.#fingerprint = fingerprint;
    }
    diagnostics.report(result.diagnostics);
    const durationMs = performance.now() - started;
    if (changed) {
      logger.info("route table published", {
        generation: published.generation,
        hosts: result.table.exactHosts.size + result.table.wildcardHosts.size + (result.table.anyHost ? 1 : 0),
        backends: result.table.backends.length,
        diagnostics: result.diagnostics.length,
        durationMs: Math.round(durationMs * 10) / 10,
      });
    }
    // Counting routes and endpoints is work only the metrics need.
    if (channels.rebuild.hasSubscribers) this.#publishRebuild(result.table, published.generation, changed, durationMs, dirtySince);
    const outcome: RebuildOutcome = { result, published, changed, durationMs };
    this.#o.onRebuild?.(outcome);
    return outcome;
  }
}

// Reconciler: level-triggered, throttled rebuilds of the route table. Store
// changes mark it dirty; a short hold-off gathers changes that arrive together, and
// the pause after each rebuild grows with its cost, so bursts coalesce while a lone
// change is applied at once. Nothing is published before every source has synced;
// an identical table is not republished. EndpointSlice changes go to the
// EndpointRegistry only. Translation reuses unchanged Ingresses and hosts.
import type { ClusterStore, StoreChange } from "../store/cluster-store.ts";
import type { Ingress } from "../store/objects.ts";
import { objectKey } from "../store/objects.ts";
import type { Snapshot, TranslateSettings } from "../store/snapshot.ts";
import { buildRouteTable, LEGACY_CLASS_ANNOTATION, ownershipTest, sortedIndexOf, TranslationCache } from "../translate/index.ts";
import { routeTablesEqual } from "../routing/index.ts";
import type { RouteTableHolder, PublishedTable } from "../routing/published-table.ts";
import type { RouteTable, TranslationResult } from "../routing/route-table.ts";
import type { EndpointRegistry } from "../endpoints/endpoint-registry.ts";
import type { Logger } from "../observability/logger.ts";
import type { DiagnosticReporter } from "./diagnostic-reporter.ts";
import { channels, publishRebuild } from "../observability/events.ts";
import { realTimers, type Timers } from "./timers.ts";

/** Ingresses named one by one when many stop being turnout's at once (an IngressClass deleted). */
const MAX_OWNERSHIP_LOGS = 20;

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
  /** Wait this long after the first change, to take in changes arriving with it. */
  holdoffMs?: number;
  /** After a rebuild, wait this many times its cost before the next (rebuilds take at most 1/(1+n) of the time). */
  costFactor?: number;
  /** The pause after a rebuild never exceeds this. */
  maxPauseMs?: number;
  timers?: Timers;
  onRebuild?: (outcome: RebuildOutcome) => void;
}

export class Reconciler {
  readonly #o: Required<Omit<ReconcilerOptions, "onRebuild">> & Pick<ReconcilerOptions, "onRebuild">;
  #synced = false;
  #dirtySince: number | undefined;
  #timer: unknown;
  /** No rebuild starts before this (epoch ms): the pause after the last one. */
  #pausedUntil = 0;
  #lastAccepted = new Map<string, Ingress>();
  /** Ingresses changed since the last rebuild; undefined: look at all (first rebuild, IngressClass change). */
  #changedIngresses: Set<string> | undefined;
  /** Ingresses (namespace/name) that were turnout's at the last rebuild. */
  #owned = new Set<string>();
  readonly #cache = new TranslationCache();
  #rebuilds = 0;

  constructor(options: ReconcilerOptions) {
    this.#o = { holdoffMs: 5, costFactor: 2, maxPauseMs: 500, timers: realTimers, ...options };
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
    if (change.object.kind === "Ingress") {
      const key = objectKey(change.object.meta);
      if (change.type === "delete") this.#lastAccepted.delete(key);
      this.#changedIngresses?.add(key);
    } else if (change.object.kind === "IngressClass") {
      this.#changedIngresses = undefined;
    }
    this.#markDirty();
  }

  #markDirty(): void {
    if (!this.#synced || this.#timer !== undefined) return;
    const { timers, holdoffMs } = this.#o;
    const now = timers.now();
    this.#dirtySince ??= now;
    const wait = Math.max(holdoffMs, this.#pausedUntil - now);
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

  /** The Ingress the store holds under a "namespace/name" key. */
  #ingress(key: string): Ingress | undefined {
    const [namespace = "", name = ""] = key.split("/");
    return this.#o.store.get("Ingress", namespace, name);
  }

  /** Keeps the current version of every accepted Ingress that may have changed, for when a later version is invalid. */
  #rememberAccepted(accepted: readonly string[]): void {
    const remember = (key: string): void => {
      const ingress = this.#ingress(key);
      if (ingress) this.#lastAccepted.set(key, ingress);
    };
    if (this.#changedIngresses === undefined) accepted.forEach(remember);
    else for (const key of this.#changedIngresses) if (sortedIndexOf(accepted, key) >= 0) remember(key);
    this.#changedIngresses = new Set();
  }

  /**
   * Logs the Ingresses that still exist but stopped being turnout's (their class changed,
   * or their IngressClass went away): their routes disappear, and nothing else says why.
   */
  #followOwnership(snapshot: Snapshot): void {
    const isOurs = ownershipTest(snapshot.ingressClasses, snapshot.settings);
    const lost: Ingress[] = [];
    if (this.#changedIngresses === undefined) {
      const owned = new Set(snapshot.ingresses.filter(isOurs).map((ingress) => objectKey(ingress.meta)));
      for (const key of this.#owned) {
        const ingress = owned.has(key) ? undefined : this.#ingress(key);
        if (ingress) lost.push(ingress);
      }
      this.#owned = owned;
    } else {
      for (const key of this.#changedIngresses) {
        const ingress = this.#ingress(key);
        if (ingress && isOurs(ingress)) this.#owned.add(key);
        else if (this.#owned.delete(key) && ingress) lost.push(ingress);
      }
    }
    for (const ingress of lost.slice(0, MAX_OWNERSHIP_LOGS)) {
      const ingressClass = ingress.ingressClassName ?? ingress.meta.annotations[LEGACY_CLASS_ANNOTATION] ?? "";
      this.#o.logger.info("Ingress is no longer turnout's; its routes are removed", { ref: objectKey(ingress.meta), ingressClass });
    }
    if (lost.length > MAX_OWNERSHIP_LOGS) this.#o.logger.info("more Ingresses are no longer turnout's", { count: lost.length - MAX_OWNERSHIP_LOGS });
  }

  /** `dirtySince`: when the first change this rebuild includes was seen (for the apply-latency metric). */
  #rebuild(dirtySince?: number): RebuildOutcome {
    const { store, settings, holder, timers, logger, diagnostics } = this.#o;
    const started = timers.now();
    this.#rebuilds += 1;
    const snapshot = store.snapshot(settings, this.#lastAccepted);
    const result = buildRouteTable(snapshot, this.#cache);
    this.#followOwnership(snapshot);
    this.#rememberAccepted(result.accepted);
    const previous = holder.current;
    const changed = previous === undefined || !routeTablesEqual(previous.table, result.table);
    const published = changed ? holder.publish(result.table, timers.now()) : previous;
    diagnostics.report(result.diagnostics);
    const durationMs = timers.now() - started;
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
    // What follows a publish (shipping to workers, health checks, certificates) counts as cost too.
    const finished = timers.now();
    this.#pausedUntil = finished + Math.min(this.#o.maxPauseMs, (finished - started) * this.#o.costFactor);
    return outcome;
  }
}

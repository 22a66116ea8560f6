// Fans store events out to open watches: keeps a bounded event history so watches can
// resume from a resourceVersion, answers 410 Expired past it, and sends bookmarks.

import { apiVersionOf, resourceKey, type ResourceType } from "./resources.ts";
import { expiredStatus } from "./status.ts";
import type { KubeObject } from "./objects.ts";
import type { ObjectPredicate } from "./selectors.ts";
import type { StoreEvent } from "./store.ts";

export type WatchLineType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** Where a watch writes: one JSON line per event. HTTP-free so the hub stays testable. */
export interface WatchSink {
  send(line: string): void;
  /** Ends the stream cleanly (the client sees end of body). */
  end(): void;
  /** Breaks the connection (the client sees a network error). */
  destroy(): void;
}

export interface WatchRequest {
  resource: ResourceType;
  /** Namespace, label and field selectors combined. */
  filter: ObjectPredicate;
  /** Send events after this RV; undefined starts with synthetic ADDED events of the current state. */
  sinceRv: number | undefined;
  bookmarks: boolean;
  /** From `timeoutSeconds`: the server ends the watch after this long. */
  timeoutMs?: number;
  sink: WatchSink;
}

export interface WatchHubOptions {
  bookmarkIntervalMs: number;
  /** Events kept for resuming watches; older ones are compacted away. */
  historyLimit: number;
  currentRv: () => number;
  listCurrent: (type: ResourceType) => KubeObject[];
}

export type DropMode = "end" | "destroy";

interface Watcher {
  request: WatchRequest;
  /** Lines held back while watches are paused. */
  pending: string[];
  timeout: NodeJS.Timeout | undefined;
}

function line(type: WatchLineType, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}

/** How one store event looks to a watch with a selector: objects entering or leaving it are ADDED/DELETED. */
function eventFor(watcher: Watcher, event: StoreEvent): WatchLineType | undefined {
  const { filter } = watcher.request;
  const now = filter(event.object);
  if (event.type !== "MODIFIED") return now ? event.type : undefined;
  const before = event.previous !== undefined && filter(event.previous);
  if (now && before) return "MODIFIED";
  if (now) return "ADDED";
  if (before) return "DELETED";
  return undefined;
}

export class WatchHub {
  readonly #options: WatchHubOptions;
  readonly #watchers = new Set<Watcher>();
  #history: StoreEvent[] = [];
  /** Events with rv <= this are forgotten; resuming from an older RV is Expired. */
  #compactedRv = 0;
  #paused = false;
  #bookmarkTimer: NodeJS.Timeout | undefined;

  constructor(options: WatchHubOptions) {
    this.#options = options;
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  get compactedResourceVersion(): number {
    return this.#compactedRv;
  }

  publish(event: StoreEvent): void {
    this.#history.push(event);
    while (this.#history.length > this.#options.historyLimit) {
      const dropped = this.#history.shift();
      if (dropped !== undefined) this.#compactedRv = dropped.rv;
    }
    const key = resourceKey(event.resource);
    for (const watcher of this.#watchers) {
      if (resourceKey(watcher.request.resource) !== key) continue;
      const type = eventFor(watcher, event);
      if (type !== undefined) this.#deliver(watcher, line(type, event.object));
    }
  }

  /** Opens a watch; returns a function that unregisters it (call it when the client goes away). */
  open(request: WatchRequest): () => void {
    const watcher: Watcher = { request, pending: [], timeout: undefined };
    const { sinceRv, sink } = request;
    if (sinceRv !== undefined && sinceRv < this.#compactedRv) {
      sink.send(line("ERROR", expiredStatus(sinceRv, this.#compactedRv)));
      sink.end();
      return () => undefined;
    }
    if (sinceRv === undefined) {
      for (const obj of this.#options.listCurrent(request.resource)) {
        if (request.filter(obj)) this.#deliver(watcher, line("ADDED", obj));
      }
    } else {
      const key = resourceKey(request.resource);
      for (const event of this.#history) {
        if (event.rv <= sinceRv || resourceKey(event.resource) !== key) continue;
        const type = eventFor(watcher, event);
        if (type !== undefined) this.#deliver(watcher, line(type, event.object));
      }
    }
    this.#watchers.add(watcher);
    if (request.timeoutMs !== undefined) {
      watcher.timeout = setTimeout(() => this.#close(watcher, "end"), request.timeoutMs);
    }
    this.#syncBookmarkTimer();
    return () => this.#remove(watcher);
  }

  /** Forgets the history: every watch resuming from an RV before now gets 410 Expired. */
  compact(): void {
    this.#history = [];
    this.#compactedRv = this.#options.currentRv();
  }

  /** Closes every open watch; returns how many were closed. */
  dropAll(mode: DropMode): number {
    const watchers = [...this.#watchers];
    for (const watcher of watchers) this.#close(watcher, mode);
    return watchers.length;
  }

  /** Holds back events and bookmarks on open watches until resume(); new watches are held too. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    for (const watcher of this.#watchers) {
      for (const held of watcher.pending.splice(0)) watcher.request.sink.send(held);
    }
  }

  /** Ends all watches and timers, for shutdown. */
  close(): void {
    this.dropAll("end");
    this.#syncBookmarkTimer();
  }

  #deliver(watcher: Watcher, text: string): void {
    if (this.#paused) watcher.pending.push(text);
    else watcher.request.sink.send(text);
  }

  #close(watcher: Watcher, mode: DropMode): void {
    this.#remove(watcher);
    if (mode === "end") watcher.request.sink.end();
    else watcher.request.sink.destroy();
  }

  #remove(watcher: Watcher): void {
    if (!this.#watchers.delete(watcher)) return;
    if (watcher.timeout !== undefined) clearTimeout(watcher.timeout);
    watcher.pending = [];
    this.#syncBookmarkTimer();
  }

  /** One interval for all watches, running only while some watch asked for bookmarks. */
  #syncBookmarkTimer(): void {
    const wanted = [...this.#watchers].some((w) => w.request.bookmarks);
    if (wanted && this.#bookmarkTimer === undefined) {
      this.#bookmarkTimer = setInterval(() => this.#sendBookmarks(), this.#options.bookmarkIntervalMs);
    } else if (!wanted && this.#bookmarkTimer !== undefined) {
      clearInterval(this.#bookmarkTimer);
      this.#bookmarkTimer = undefined;
    }
  }

  #sendBookmarks(): void {
    if (this.#paused) return;
    const rv = String(this.#options.currentRv());
    for (const watcher of this.#watchers) {
      if (!watcher.request.bookmarks) continue;
      const { resource } = watcher.request;
      watcher.request.sink.send(line("BOOKMARK", { kind: resource.kind, apiVersion: apiVersionOf(resource), metadata: { resourceVersion: rv } }));
    }
  }
}

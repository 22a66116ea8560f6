// EndpointRegistry: one immutable EndpointSet per backend, rebuilt only for the
// Service whose EndpointSlices changed or the sets holding an endpoint whose
// health flags changed; health state is kept per address across rebuilds.
import type { EndpointSlice } from "../store/objects.ts";
import type { BackendRef } from "../routing/route-table.ts";
import type { Logger } from "../observability/logger.ts";
import { endpointAddress } from "./endpoint.ts";
import type { Endpoint } from "./endpoint.ts";
import { selectUsable } from "./endpoint-health.ts";
import type { EndpointHealth } from "./endpoint-health.ts";

/** The endpoints of one backend at one moment. `version` changes whenever the set does. */
export interface EndpointSet {
  backendKey: string;
  version: number;
  /** Every endpoint of the backend, sorted by address. */
  all: readonly Endpoint[];
  /** Ready endpoints; if none is ready, those still serving while terminating (graceful shutdown). */
  candidates: readonly Endpoint[];
  /**
   * What balancers get: candidates that pass active checks and are not ejected;
   * in panic mode (none does) every candidate.
   */
  usable: readonly Endpoint[];
  /** True when no candidate is healthy and traffic is spread over all of them. */
  panic: boolean;
}

export interface EndpointRegistryListener {
  /** Called after the sets of one Service changed; `removed` lists addresses gone from every slice. */
  (serviceKey: string, removed: readonly string[]): void;
}

export interface PanicEvent {
  backendKey: string;
  /** True when the backend entered panic mode, false when it left it. */
  entered: boolean;
  candidates: number;
}

export interface EndpointRegistryOptions {
  /** Milliseconds, monotonic; compared with `ejectedUntil`. Default `performance.now()`. */
  now?: () => number;
  /** Receives the panic-mode log lines; none are written without it. */
  logger?: Logger;
}

/** One address's health, as listed for debugging and metrics. */
export interface EndpointHealthEntry extends EndpointHealth {
  address: string;
}

interface CachedSet {
  set: EndpointSet;
  /** The set must be rebuilt from this clock value on (an ejection expires). */
  staleAt: number;
  /**
   * The slice port name the set was built for. A Service port renamed under the same
   * number keeps the backend key, so the name is checked too.
   */
  portName: string;
}

/**
 * The Services whose slices name one address: the Service key alone when one slice
 * entry names it (nearly always), else entry counts per Service. Tens of thousands
 * of addresses are tracked, and a Map each would cost ~180 bytes more per address.
 */
type AddressRefs = string | Map<string, number>;

const EMPTY: readonly Endpoint[] = Object.freeze([]);

export class EndpointRegistry {
  /** namespace/service -> slice key -> slice */
  readonly #slicesByService = new Map<string, Map<string, EndpointSlice>>();
  /** namespace/service -> backend key -> set (lazily built, dropped on change) */
  readonly #setsByService = new Map<string, Map<string, CachedSet>>();
  /** address -> the Services whose slice entries name it; absent means the address is gone */
  readonly #addressRefs = new Map<string, AddressRefs>();
  /** address -> health flags; only addresses some slice names, only once a flag was set */
  readonly #health = new Map<string, EndpointHealth>();
  /** backend keys whose last built set was in panic mode */
  readonly #panicking = new Set<string>();
  readonly #listeners: EndpointRegistryListener[] = [];
  readonly #panicListeners: ((event: PanicEvent) => void)[] = [];
  readonly #logger: Logger | undefined;
  readonly now: () => number;
  #version = 0;
  #panicEvents = 0;

  constructor(options: EndpointRegistryOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.#logger = options.logger;
  }

  onChange(listener: EndpointRegistryListener): void {
    this.#listeners.push(listener);
  }

  /** Called when a backend enters or leaves panic mode (detected when its set is built). */
  onPanic(listener: (event: PanicEvent) => void): void {
    this.#panicListeners.push(listener);
  }

  /** Adds or replaces one slice; only its Service's sets are invalidated. */
  applySlice(slice: EndpointSlice): void {
    if (slice.serviceName === "") return;
    const serviceKey = `${slice.meta.namespace}/${slice.serviceName}`;
    let slices = this.#slicesByService.get(serviceKey);
    if (!slices) {
      slices = new Map();
      this.#slicesByService.set(serviceKey, slices);
    }
    const sliceKey = slice.meta.name;
    const previous = slices.get(sliceKey);
    slices.set(sliceKey, slice);
    this.#changed(serviceKey, previous, slice);
  }

  deleteSlice(slice: EndpointSlice): void {
    if (slice.serviceName === "") return;
    const serviceKey = `${slice.meta.namespace}/${slice.serviceName}`;
    const slices = this.#slicesByService.get(serviceKey);
    const previous = slices?.get(slice.meta.name);
    if (!slices || !previous) return;
    slices.delete(slice.meta.name);
    if (slices.size === 0) this.#slicesByService.delete(serviceKey);
    this.#changed(serviceKey, previous, undefined);
  }

  /**
   * The current endpoints of a backend (an empty set when nothing is known).
   * Ejection expiry is applied lazily: a cached set is rebuilt on the first call
   * after the earliest `ejectedUntil` among its candidates has passed.
   */
  endpointSet(backend: BackendRef): EndpointSet {
    const serviceKey = `${backend.namespace}/${backend.service}`;
    let sets = this.#setsByService.get(serviceKey);
    if (!sets) {
      sets = new Map();
      this.#setsByService.set(serviceKey, sets);
    }
    let cached = sets.get(backend.key);
    if (!cached || cached.portName !== backend.portName || this.now() >= cached.staleAt) {
      cached = this.#buildSet(backend, this.#slicesByService.get(serviceKey));
      sets.set(backend.key, cached);
    }
    return cached.set;
  }

  /** Every address currently named by some slice. */
  knownAddresses(): IterableIterator<string> {
    return this.#addressRefs.keys();
  }

  /** Whether some slice names the address now. */
  isKnown(address: string): boolean {
    return this.#addressRefs.has(address);
  }

  /** Health flags of an address; undefined when none was ever set (healthy). */
  health(address: string): Readonly<EndpointHealth> | undefined {
    return this.#health.get(address);
  }

  isEjected(address: string): boolean {
    return (this.#health.get(address)?.ejectedUntil ?? 0) > this.now();
  }

  /**
   * Sets or clears the active-check flag. Ignored (false) for an address no slice
   * names, so a probe finishing after its endpoint left cannot leave state behind.
   * Returns whether the flag changed.
   */
  setFailedActiveCheck(address: string, failed: boolean): boolean {
    if (!this.#addressRefs.has(address)) return false;
    const health = this.#healthOf(address);
    if (health.failedActiveCheck === failed) return false;
    health.failedActiveCheck = failed;
    this.#invalidateAddress(address);
    return true;
  }

  /** Ejects an address until the clock reaches `until`. Ignored (false) for an address no slice names. */
  eject(address: string, until: number): boolean {
    if (!this.#addressRefs.has(address)) return false;
    this.#healthOf(address).ejectedUntil = until;
    this.#invalidateAddress(address);
    return true;
  }

  /** Addresses with a health flag set now (failing active checks or ejected), sorted. */
  unhealthyAddresses(): EndpointHealthEntry[] {
    const now = this.now();
    return [...this.#health]
      .filter(([, h]) => h.failedActiveCheck || h.ejectedUntil > now)
      .map(([address, h]) => ({ address, ...h }))
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** Times any backend entered panic mode, and the backends in it as of their last build. */
  panicStats(): { panicEventsTotal: number; backendsInPanic: string[] } {
    return { panicEventsTotal: this.#panicEvents, backendsInPanic: [...this.#panicking].sort() };
  }

  #healthOf(address: string): EndpointHealth {
    let health = this.#health.get(address);
    if (!health) {
      health = { failedActiveCheck: false, ejectedUntil: 0 };
      this.#health.set(address, health);
    }
    return health;
  }

  /** Drops exactly the cached sets that contain `address`; they get a new version when next asked for. */
  #invalidateAddress(address: string): void {
    const refs = this.#addressRefs.get(address);
    const serviceKeys = refs === undefined ? [] : typeof refs === "string" ? [refs] : refs.keys();
    for (const serviceKey of serviceKeys) {
      const sets = this.#setsByService.get(serviceKey);
      if (!sets) continue;
      for (const [backendKey, cached] of sets) if (cached.set.all.some((e) => e.address === address)) sets.delete(backendKey);
    }
  }

  #addRef(address: string, serviceKey: string): void {
    const refs = this.#addressRefs.get(address);
    if (refs === undefined) this.#addressRefs.set(address, serviceKey);
    else if (typeof refs === "string") this.#addressRefs.set(address, new Map([[refs, 1]]).set(serviceKey, refs === serviceKey ? 2 : 1));
    else refs.set(serviceKey, (refs.get(serviceKey) ?? 0) + 1);
  }

  /** Drops one slice entry of `serviceKey` naming `address`; true when no slice names the address any more. */
  #dropRef(address: string, serviceKey: string): boolean {
    const refs = this.#addressRefs.get(address);
    if (refs === undefined) return false;
    if (typeof refs === "string") {
      if (refs !== serviceKey) return false;
      this.#addressRefs.delete(address);
      return true;
    }
    const count = (refs.get(serviceKey) ?? 1) - 1;
    if (count > 0) refs.set(serviceKey, count);
    else refs.delete(serviceKey);
    if (refs.size === 0) {
      this.#addressRefs.delete(address);
      return true;
    }
    const [only, onlyCount] = refs.size === 1 ? [...refs][0] ?? [] : [];
    if (only !== undefined && onlyCount === 1) this.#addressRefs.set(address, only);
    return false;
  }

  #changed(serviceKey: string, previous: EndpointSlice | undefined, next: EndpointSlice | undefined): void {
    for (const address of sliceAddresses(next)) this.#addRef(address, serviceKey);
    const removed: string[] = [];
    for (const address of sliceAddresses(previous)) {
      if (!this.#dropRef(address, serviceKey)) continue;
      this.#health.delete(address);
      removed.push(address);
    }
    this.#setsByService.delete(serviceKey);
    for (const listener of this.#listeners) listener(serviceKey, removed);
  }

  #buildSet(backend: BackendRef, slices: Map<string, EndpointSlice> | undefined): CachedSet {
    const byAddress = new Map<string, Endpoint>();
    for (const slice of slices?.values() ?? []) {
      if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
      const port = slice.ports.find((p) => p.name === backend.portName)?.port;
      if (port === undefined) continue;
      for (const entry of slice.endpoints) {
        for (const ip of entry.addresses) {
          const endpoint = toEndpoint(ip, port, slice.addressType === "IPv6" ? 6 : 4, entry);
          const existing = byAddress.get(endpoint.address);
          // The same address may appear in two slices while they are being rebalanced; prefer the ready one.
          if (!existing || (!existing.ready && endpoint.ready)) byAddress.set(endpoint.address, endpoint);
        }
      }
    }
    const sorted = [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const all = sorted.length > 0 ? Object.freeze(sorted) : EMPTY;
    const selection = selectUsable(all, (address) => this.#health.get(address), this.now());
    this.#notePanic(backend.key, selection.panic, selection.candidates.length);
    this.#version += 1;
    const set: EndpointSet = {
      backendKey: backend.key,
      version: this.#version,
      all,
      candidates: selection.candidates,
      usable: selection.usable,
      panic: selection.panic,
    };
    return { set: Object.freeze(set), staleAt: selection.staleAt, portName: backend.portName };
  }

  /** Logs and reports each entry into (and exit from) panic mode once per backend. */
  #notePanic(backendKey: string, panic: boolean, candidates: number): void {
    if (panic === this.#panicking.has(backendKey)) return;
    if (panic) {
      this.#panicking.add(backendKey);
      this.#panicEvents += 1;
      this.#logger?.warn("backend in panic mode: no healthy endpoint, sending traffic to all of them", { backend: backendKey, candidates });
    } else {
      this.#panicking.delete(backendKey);
      this.#logger?.info("backend left panic mode", { backend: backendKey, candidates });
    }
    for (const listener of this.#panicListeners) listener({ backendKey, entered: panic, candidates });
  }
}

function toEndpoint(ip: string, port: number, family: 4 | 6, entry: EndpointSlice["endpoints"][number]): Endpoint {
  const endpoint: Endpoint = {
    address: endpointAddress(ip, port),
    ip,
    port,
    family,
    ready: entry.conditions.ready,
    serving: entry.conditions.serving,
    terminating: entry.conditions.terminating,
  };
  if (entry.zone) endpoint.zone = entry.zone;
  if (entry.nodeName) endpoint.nodeName = entry.nodeName;
  if (entry.targetRef?.name) endpoint.targetName = entry.targetRef.name;
  return Object.freeze(endpoint);
}

function* sliceAddresses(slice: EndpointSlice | undefined): Generator<string> {
  if (!slice) return;
  for (const port of slice.ports) {
    if (port.port === undefined) continue;
    for (const entry of slice.endpoints) for (const ip of entry.addresses) yield endpointAddress(ip, port.port);
  }
}

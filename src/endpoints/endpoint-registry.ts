// EndpointRegistry: one immutable EndpointSet per backend, rebuilt only for the
// Service whose EndpointSlices changed, plus the per-endpoint state (load,
// health) that must outlive route-table rebuilds, keyed by endpoint address.
import type { EndpointSlice } from "../store/objects.ts";
import type { BackendRef } from "../routing/route-table.ts";
import { endpointAddress } from "./endpoint.ts";
import type { Endpoint } from "./endpoint.ts";

/** The endpoints of one backend at one moment. `version` changes whenever the set does. */
export interface EndpointSet {
  backendKey: string;
  version: number;
  /** Every endpoint of the backend, sorted by address. */
  all: readonly Endpoint[];
  /**
   * Endpoints that should take traffic now: ready ones; if none is ready, those
   * still serving while terminating (graceful shutdown). Health flags filter this later.
   */
  usable: readonly Endpoint[];
}

export interface EndpointRegistryListener {
  /** Called after the sets of one Service changed; `removed` lists addresses gone from every slice. */
  (serviceKey: string, removed: readonly string[]): void;
}

const EMPTY: readonly Endpoint[] = Object.freeze([]);

export class EndpointRegistry {
  /** namespace/service -> slice key -> slice */
  readonly #slicesByService = new Map<string, Map<string, EndpointSlice>>();
  /** namespace/service -> backend key -> set (lazily built, dropped on change) */
  readonly #setsByService = new Map<string, Map<string, EndpointSet>>();
  /** address -> number of slice entries naming it, to know when state can be dropped */
  readonly #addressRefs = new Map<string, number>();
  readonly #listeners: EndpointRegistryListener[] = [];
  #version = 0;

  onChange(listener: EndpointRegistryListener): void {
    this.#listeners.push(listener);
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

  /** The current endpoints of a backend (an empty set when nothing is known). */
  endpointSet(backend: BackendRef): EndpointSet {
    const serviceKey = `${backend.namespace}/${backend.service}`;
    let sets = this.#setsByService.get(serviceKey);
    if (!sets) {
      sets = new Map();
      this.#setsByService.set(serviceKey, sets);
    }
    let set = sets.get(backend.key);
    if (!set) {
      set = this.#buildSet(backend, this.#slicesByService.get(serviceKey));
      sets.set(backend.key, set);
    }
    return set;
  }

  /** Every address currently named by some slice. */
  knownAddresses(): IterableIterator<string> {
    return this.#addressRefs.keys();
  }

  #changed(serviceKey: string, previous: EndpointSlice | undefined, next: EndpointSlice | undefined): void {
    for (const address of sliceAddresses(next)) this.#addressRefs.set(address, (this.#addressRefs.get(address) ?? 0) + 1);
    const removed: string[] = [];
    for (const address of sliceAddresses(previous)) {
      const refs = (this.#addressRefs.get(address) ?? 1) - 1;
      if (refs <= 0) {
        this.#addressRefs.delete(address);
        removed.push(address);
      } else this.#addressRefs.set(address, refs);
    }
    this.#setsByService.delete(serviceKey);
    for (const listener of this.#listeners) listener(serviceKey, removed);
  }

  #buildSet(backend: BackendRef, slices: Map<string, EndpointSlice> | undefined): EndpointSet {
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
    const all = [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const ready = all.filter((e) => e.ready);
    const usable = ready.length > 0 ? ready : all.filter((e) => e.serving && e.terminating);
    this.#version += 1;
    return {
      backendKey: backend.key,
      version: this.#version,
      all: all.length > 0 ? Object.freeze(all) : EMPTY,
      usable: usable.length > 0 ? Object.freeze(usable) : EMPTY,
    };
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

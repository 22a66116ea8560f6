// The translation state buildRouteTable carries from one run to the next, and the
// run itself. Store objects are replaced, never mutated: comparing the snapshot's
// lists with the previous ones by identity finds the Ingresses and Services that
// changed. Only those Ingresses (and those that looked up a changed Service) are
// decided and expanded again, only their hosts rebuilt; every other host keeps its
// HostRoutes object, shared by the old and the new table. The result equals a
// translation from scratch, which is what a fresh cache does.
import type { BackendRef, Diagnostic, RouteTable, TranslationResult } from "../routing/index.ts";
import { backendRefsEqual } from "../routing/index.ts";
import type { Ingress, IngressClass, Service, Snapshot } from "../store/index.ts";
import { objectKey } from "../store/index.ts";
import { backendResolver, servicePortResolver } from "./backend-resolution.ts";
import { resolveDefaultBackend } from "./default-backends.ts";
import { sortDiagnostics } from "./diagnostics.ts";
import type { BuiltHost } from "./host-routes.ts";
import { buildHostRoutes } from "./host-routes.ts";
import type { OwnershipTest } from "./ingress-class.ts";
import { ownershipTest } from "./ingress-class.ts";
import type { IngressExpansion } from "./ingress-expansion.ts";
import { expandIngress } from "./ingress-expansion.ts";
import type { IngressVersion, UsableIngress } from "./ingress-versions.ts";
import { chooseIngressVersion } from "./ingress-versions.ts";
import { diffObjects } from "./input-diff.ts";
import { compareByAge, compareStrings, insertSorted, removeItem, removeSorted } from "./ordering.ts";

interface CachedExpansion {
  expansion: IngressExpansion;
  /** Every Service key the expansion looked up, with what it found. */
  lookups: [string, Service | undefined][];
}

/** One of our Ingresses as translated. */
interface IngressState {
  /** The current object (the store's). */
  ingress: Ingress;
  version: IngressVersion;
  expansion: IngressExpansion | undefined;
  /** Service keys the expansion looked up. */
  lookups: string[];
}

interface HostEntry {
  /** The expansions the host was built from, oldest first. */
  contributors: readonly IngressExpansion[];
  built: BuiltHost;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compareExpansionsByAge(a: IngressExpansion, b: IngressExpansion): number {
  return compareByAge(a.source.ingress, b.source.ingress);
}

/** Host keys an expansion contributes to: those it declares and those it names a TLS Secret for. */
function hostsOf(expansion: IngressExpansion): Set<string> {
  const hosts = new Set(expansion.hosts.keys());
  for (const claim of expansion.tls) hosts.add(claim.host);
  return hosts;
}

function emptyTable(): RouteTable {
  return { exactHosts: new Map(), wildcardHosts: new Map(), backends: [] };
}

/** How many routes use each backend, and the backend keys in order, kept across runs. */
class BackendCounter {
  readonly #counts: Map<string, { backend: BackendRef; count: number }>;
  readonly #order: string[];
  /** After a start-over: keys are appended and sorted once, in sorted(). */
  readonly #unsorted: boolean;
  /** A backend was added, removed or replaced: the table needs a new list. */
  changed = false;

  constructor(counts: Map<string, { backend: BackendRef; count: number }>, order: string[], unsorted: boolean) {
    this.#counts = counts;
    this.#order = order;
    this.#unsorted = unsorted;
  }

  count(backend: BackendRef, by: 1 | -1): void {
    const counted = this.#counts.get(backend.key);
    if (!counted) {
      this.#counts.set(backend.key, { backend, count: 1 });
      if (this.#unsorted) this.#order.push(backend.key);
      else insertSorted(this.#order, backend.key, compareStrings);
      this.changed = true;
    } else if ((counted.count += by) === 0) {
      this.#counts.delete(backend.key);
      removeSorted(this.#order, backend.key);
      this.changed = true;
    } else if (by === 1 && !backendRefsEqual(counted.backend, backend)) {
      // After a Service change every route to it is rebuilt: the newest object is current.
      counted.backend = backend;
      this.changed = true;
    }
  }

  /** Every counted backend, sorted by key. */
  sorted(): BackendRef[] {
    if (this.#unsorted) this.#order.sort(compareStrings);
    return this.#order.map((key) => this.#counts.get(key)?.backend as BackendRef);
  }
}

export class TranslationCache {
  readonly #expansions = new WeakMap<UsableIngress, CachedExpansion>();
  /** The inputs of the last run; undefined settings: nothing translated yet. */
  #settingsText: string | undefined;
  #classes: readonly IngressClass[] = [];
  #ingresses: readonly Ingress[] = [];
  #services: readonly Service[] = [];
  #isOurs: OwnershipTest = () => false;
  readonly #serviceIndex = new Map<string, Service>();

  /** Our Ingresses by namespace/name. */
  #states = new Map<string, IngressState>();
  /** Service key -> keys of Ingresses whose expansion looked it up. */
  #dependents = new Map<string, Set<string>>();
  /** Ingresses with invalid current annotations, whose last accepted version was consulted. */
  #consulting = new Set<string>();
  /** Host key -> contributing expansions, oldest first. */
  #contributors = new Map<string, IngressExpansion[]>();
  #hosts = new Map<string, HostEntry>();
  /** After a start-over, the hosts of the run before: reused where their contributors are the same. */
  #reusableHosts = new Map<string, HostEntry>();
  /** Expansions with a resolvable defaultBackend, oldest first. */
  #withDefault: IngressExpansion[] = [];
  /** Keys of Ingresses whose current version is used, sorted. */
  #accepted: string[] = [];
  #table: RouteTable = emptyTable();
  /** Ingresses and hosts that have diagnostics (most have none). */
  #withDiagnostics = new Set<IngressState | HostEntry>();
  #backendCounts = new Map<string, { backend: BackendRef; count: number }>();
  /** The keys of #backendCounts, sorted. */
  #backendOrder: string[] = [];

  translate(snapshot: Snapshot): TranslationResult {
    const { dirty: dirtyKeys, startedOver } = this.#takeInputs(snapshot);
    const dirtyHosts = new Set<string>();
    for (const key of dirtyKeys.keys()) this.#forget(key, dirtyHosts);
    for (const [key, ingress] of dirtyKeys) if (ingress) this.#decide(key, ingress, snapshot.lastAccepted, dirtyHosts, startedOver);
    if (startedOver) this.#accepted.sort(compareStrings);

    const table: RouteTable = {
      exactHosts: new Map(this.#table.exactHosts),
      wildcardHosts: new Map(this.#table.wildcardHosts),
      backends: this.#table.backends,
    };
    if (this.#table.anyHost) table.anyHost = this.#table.anyHost;
    const backends = new BackendCounter(this.#backendCounts, this.#backendOrder, startedOver);
    this.#updateHosts(table, dirtyHosts, backends);

    const diagnostics: Diagnostic[] = [];
    const defaultBackend = resolveDefaultBackend(
      this.#withDefault,
      (hostKey) => this.#hosts.get(hostKey)?.built.fallbackOwner,
      servicePortResolver((key) => this.#serviceIndex.get(key)),
      snapshot.settings,
      diagnostics,
    );
    if (defaultBackend !== this.#table.defaultBackend) {
      for (const member of this.#table.defaultBackend?.weighted ?? []) backends.count(member.backend, -1);
      for (const member of defaultBackend?.weighted ?? []) backends.count(member.backend, 1);
    }
    if (defaultBackend) table.defaultBackend = defaultBackend;
    if (backends.changed) table.backends = backends.sorted();
    this.#table = table;

    for (const item of this.#withDiagnostics) {
      if ("built" in item) diagnostics.push(...item.built.diagnostics);
      else diagnostics.push(...item.version.diagnostics, ...(item.expansion?.diagnostics ?? []));
    }
    return { table, diagnostics: sortDiagnostics(diagnostics), accepted: [...this.#accepted] };
  }

  /**
   * Records the snapshot's inputs; returns the Ingresses to decide again (key ->
   * current object, or undefined when gone). A change of IngressClasses or settings
   * (what counts as ours) starts over, keeping only reusable expansions and hosts.
   */
  #takeInputs(snapshot: Snapshot): { dirty: Map<string, Ingress | undefined>; startedOver: boolean } {
    const dirty = new Map<string, Ingress | undefined>();
    const services = diffObjects(this.#services, snapshot.services);
    for (const key of services.removed) this.#serviceIndex.delete(key);
    for (const service of services.changed) this.#serviceIndex.set(objectKey(service.meta), service);
    this.#services = snapshot.services;

    const settingsText = JSON.stringify(snapshot.settings);
    if (settingsText !== this.#settingsText || !sameItems(this.#classes, snapshot.ingressClasses)) {
      this.#settingsText = settingsText;
      this.#classes = snapshot.ingressClasses;
      this.#isOurs = ownershipTest(snapshot.ingressClasses, snapshot.settings);
      this.#startOver();
      for (const ingress of snapshot.ingresses) dirty.set(objectKey(ingress.meta), ingress);
      this.#ingresses = snapshot.ingresses;
      return { dirty, startedOver: true };
    }

    const ingresses = diffObjects(this.#ingresses, snapshot.ingresses);
    for (const key of ingresses.removed) dirty.set(key, undefined);
    for (const ingress of ingresses.changed) dirty.set(objectKey(ingress.meta), ingress);
    this.#ingresses = snapshot.ingresses;
    const keep = (key: string): void => {
      const state = this.#states.get(key);
      if (state && !dirty.has(key)) dirty.set(key, state.ingress);
    };
    for (const serviceKey of [...services.removed, ...services.changed.map((s) => objectKey(s.meta))]) {
      for (const key of this.#dependents.get(serviceKey) ?? []) keep(key);
    }
    for (const key of this.#consulting) {
      if (snapshot.lastAccepted.get(key) !== this.#states.get(key)?.version.consulted?.lastAccepted) keep(key);
    }
    return { dirty, startedOver: false };
  }

  #startOver(): void {
    this.#states = new Map();
    this.#dependents = new Map();
    this.#consulting = new Set();
    this.#contributors = new Map();
    this.#withDefault = [];
    this.#accepted = [];
    this.#table = emptyTable();
    this.#backendCounts = new Map();
    this.#backendOrder = [];
    this.#withDiagnostics = new Set();
    // Kept for reuse only: none of them is in the (empty) table any more.
    this.#reusableHosts = this.#hosts;
    this.#hosts = new Map();
  }

  /** Drops what an Ingress contributed; its hosts become dirty. */
  #forget(key: string, dirtyHosts: Set<string>): void {
    const state = this.#states.get(key);
    if (!state) return;
    this.#states.delete(key);
    this.#withDiagnostics.delete(state);
    this.#consulting.delete(key);
    if (state.version.accepted) removeSorted(this.#accepted, key);
    const { expansion } = state;
    if (!expansion) return;
    for (const hostKey of hostsOf(expansion)) {
      const contributors = this.#contributors.get(hostKey);
      if (contributors && removeItem(contributors, expansion) && contributors.length === 0) this.#contributors.delete(hostKey);
      dirtyHosts.add(hostKey);
    }
    removeItem(this.#withDefault, expansion);
    for (const serviceKey of state.lookups) {
      const dependents = this.#dependents.get(serviceKey);
      if (dependents?.delete(key) === true && dependents.size === 0) this.#dependents.delete(serviceKey);
    }
  }

  /** Decides which version of an Ingress is used and expands it; its hosts become dirty. */
  #decide(key: string, ingress: Ingress, lastAccepted: ReadonlyMap<string, Ingress>, dirtyHosts: Set<string>, startedOver: boolean): void {
    if (!this.#isOurs(ingress)) return;
    const version = chooseIngressVersion(ingress, lastAccepted.get(key), this.#isOurs);
    const state: IngressState = { ingress, version, expansion: undefined, lookups: [] };
    this.#states.set(key, state);
    if (version.consulted) this.#consulting.add(key);
    if (version.accepted) {
      // Sorted once at the end when everything is decided again.
      if (startedOver) this.#accepted.push(key);
      else insertSorted(this.#accepted, key, compareStrings);
    }
    if (version.diagnostics.length > 0) this.#withDiagnostics.add(state);
    if (!version.usable) return;
    const { expansion, lookups } = this.#expansion(version.usable);
    if (expansion.diagnostics.length > 0) this.#withDiagnostics.add(state);
    state.expansion = expansion;
    state.lookups = lookups.map(([serviceKey]) => serviceKey);
    for (const serviceKey of state.lookups) {
      let dependents = this.#dependents.get(serviceKey);
      if (!dependents) {
        dependents = new Set();
        this.#dependents.set(serviceKey, dependents);
      }
      dependents.add(key);
    }
    for (const hostKey of hostsOf(expansion)) {
      let contributors = this.#contributors.get(hostKey);
      if (!contributors) {
        contributors = [];
        this.#contributors.set(hostKey, contributors);
      }
      insertSorted(contributors, expansion, compareExpansionsByAge);
      dirtyHosts.add(hostKey);
    }
    if (expansion.defaultGroup) insertSorted(this.#withDefault, expansion, compareExpansionsByAge);
  }

  /** The expansion of `source`, reused while the Services it looked up are the same objects. */
  #expansion(source: UsableIngress): CachedExpansion {
    const services = this.#serviceIndex;
    const cached = this.#expansions.get(source);
    if (cached?.lookups.every(([key, service]) => services.get(key) === service)) return cached;
    const lookups: [string, Service | undefined][] = [];
    const expansion = expandIngress(
      source,
      backendResolver((key) => {
        const service = services.get(key);
        lookups.push([key, service]);
        return service;
      }),
    );
    const fresh = { expansion, lookups };
    this.#expansions.set(source, fresh);
    return fresh;
  }

  /** The host as its contributors make it now (the previous entry when they are the same); undefined when none declares it. */
  #hostEntry(hostKey: string, previous: HostEntry | undefined): HostEntry | undefined {
    const contributors = this.#contributors.get(hostKey);
    if (!contributors?.some((expansion) => expansion.hosts.has(hostKey))) return undefined;
    const reusable = previous ?? this.#reusableHosts.get(hostKey);
    if (reusable && sameItems(reusable.contributors, contributors)) return reusable;
    return { contributors: [...contributors], built: buildHostRoutes(hostKey, contributors) };
  }

  /**
   * Rebuilds the dirty hosts into `table`, in key order (so a table built from nothing
   * has its host Maps in order). New routes are counted before old ones are taken out,
   * so a backend still in use is never dropped and re-added.
   */
  #updateHosts(table: RouteTable, dirtyHosts: ReadonlySet<string>, backends: BackendCounter): void {
    const replaced: HostEntry[] = [];
    for (const hostKey of [...dirtyHosts].sort(compareStrings)) {
      const previous = this.#hosts.get(hostKey);
      const next = this.#hostEntry(hostKey, previous);
      if (next === previous) continue;
      if (previous) {
        replaced.push(previous);
        this.#withDiagnostics.delete(previous);
        if (!next) this.#unplaceRoutes(table, previous.built);
      }
      if (next) {
        this.#hosts.set(hostKey, next);
        this.#placeRoutes(table, next.built);
        for (const backend of next.built.backends) backends.count(backend, 1);
        if (next.built.diagnostics.length > 0) this.#withDiagnostics.add(next);
      } else {
        this.#hosts.delete(hostKey);
      }
    }
    for (const previous of replaced) for (const backend of previous.built.backends) backends.count(backend, -1);
    this.#reusableHosts = new Map();
  }

  /** Puts a host's routes into the table, in place of what it had there. */
  #placeRoutes(table: RouteTable, built: BuiltHost): void {
    const routes = built.routes;
    if (!routes) return this.#unplaceRoutes(table, built);
    const { kind, lookupKey } = built.kind;
    if (kind === "any") table.anyHost = routes;
    else (kind === "wildcard" ? table.wildcardHosts : table.exactHosts).set(lookupKey, routes);
  }

  #unplaceRoutes(table: RouteTable, built: BuiltHost): void {
    const { kind, lookupKey } = built.kind;
    if (kind === "any") delete table.anyHost;
    else (kind === "wildcard" ? table.wildcardHosts : table.exactHosts).delete(lookupKey);
  }
}

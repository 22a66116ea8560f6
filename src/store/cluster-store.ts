// ClusterStore: the latest accepted version of every cluster object turnout reads,
// fed by informers or the YAML folder, read by the reconciler as a Snapshot.
import type { ClusterObject, ObjectKind } from "./objects.ts";
import { objectKey } from "./objects.ts";
import type { Snapshot, TranslateSettings } from "./snapshot.ts";
import type { Ingress, IngressClass, Secret, Service, EndpointSlice } from "./objects.ts";

export type StoreChange =
  | { type: "upsert"; object: ClusterObject; previous: ClusterObject | undefined }
  | { type: "delete"; object: ClusterObject };

export type StoreListener = (change: StoreChange) => void;

interface ObjectsByKind {
  Ingress: Ingress;
  IngressClass: IngressClass;
  Service: Service;
  EndpointSlice: EndpointSlice;
  Secret: Secret;
}

type KindMaps = { [K in ObjectKind]: Map<string, ObjectsByKind[K]> };

export class ClusterStore {
  readonly #objects: KindMaps = {
    Ingress: new Map(),
    IngressClass: new Map(),
    Service: new Map(),
    EndpointSlice: new Map(),
    Secret: new Map(),
  };
  readonly #listeners: StoreListener[] = [];

  onChange(listener: StoreListener): void {
    this.#listeners.push(listener);
  }

  /** Adds or replaces an object; a replay of the same resourceVersion is not a change. */
  upsert(object: ClusterObject): void {
    const map = this.#objects[object.kind] as Map<string, ClusterObject>;
    const key = objectKey(object.meta);
    const previous = map.get(key);
    if (previous && previous.meta.resourceVersion !== "" && previous.meta.resourceVersion === object.meta.resourceVersion) {
      return;
    }
    map.set(key, object);
    this.#emit({ type: "upsert", object, previous });
  }

  delete(kind: ObjectKind, namespace: string, name: string): void {
    const map = this.#objects[kind] as Map<string, ClusterObject>;
    const key = objectKey({ namespace, name });
    const object = map.get(key);
    if (!object) return;
    map.delete(key);
    this.#emit({ type: "delete", object });
  }

  get<K extends ObjectKind>(kind: K, namespace: string, name: string): ObjectsByKind[K] | undefined {
    const map: Map<string, ObjectsByKind[K]> = this.#objects[kind];
    return map.get(objectKey({ namespace, name }));
  }

  list<K extends ObjectKind>(kind: K): ObjectsByKind[K][] {
    const map: Map<string, ObjectsByKind[K]> = this.#objects[kind];
    return [...map.values()];
  }

  count(kind: ObjectKind): number {
    return this.#objects[kind].size;
  }

  snapshot(settings: TranslateSettings, lastAccepted: ReadonlyMap<string, Ingress>): Snapshot {
    return {
      ingresses: [...this.#objects.Ingress.values()],
      ingressClasses: [...this.#objects.IngressClass.values()],
      services: [...this.#objects.Service.values()],
      secrets: [...this.#objects.Secret.values()],
      lastAccepted,
      settings,
    };
  }

  #emit(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

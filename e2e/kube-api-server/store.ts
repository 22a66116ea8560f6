// In-memory object store with one global, monotonically increasing resourceVersion (as
// etcd's revision). Every write emits a StoreEvent; stored objects are never mutated.

import { isDeepStrictEqual } from "node:util";
import { apiVersionOf, resourceKey, type ResourceType } from "./resources.ts";
import { formatTimestamp, objectKey, type KubeObject } from "./objects.ts";
import { alreadyExists, badRequest, conflict, invalid, notFound, successStatus, type StatusObject } from "./status.ts";
import { applyPatch, type PatchType } from "./patch.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  /** The object after the write (for DELETED: its last state, stamped with the deletion's RV). */
  object: KubeObject;
  /** The state before the write, for selector transitions. */
  previous?: KubeObject;
  rv: number;
}

export interface StoreDeps {
  now: () => Date;
  newUid: () => string;
  /** Five lower-case alphanumerics for generateName. */
  nameSuffix: () => string;
}

export interface DeletePreconditions {
  uid?: string;
  resourceVersion?: string;
}

type Subresource = "status" | undefined;

/** Spec and other top-level content: what bumps metadata.generation when it changes. */
function content(obj: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = obj;
  return rest;
}

function withoutVolatileMeta(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export class ObjectStore {
  readonly #deps: StoreDeps;
  readonly #onEvent: (event: StoreEvent) => void;
  readonly #tables = new Map<string, Map<string, KubeObject>>();
  #rv = 0;

  constructor(deps: StoreDeps, onEvent: (event: StoreEvent) => void) {
    this.#deps = deps;
    this.#onEvent = onEvent;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Advances the global RV without a write here, as writes elsewhere in a cluster do. */
  bump(): number {
    return ++this.#rv;
  }

  #table(type: ResourceType): Map<string, KubeObject> {
    const key = resourceKey(type);
    let table = this.#tables.get(key);
    if (table === undefined) {
      table = new Map();
      this.#tables.set(key, table);
    }
    return table;
  }

  /** Objects in key order (namespace, then name), as etcd returns them. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const entries = [...this.#table(type).entries()].filter(([, obj]) => namespace === undefined || (obj.metadata.namespace ?? "") === namespace);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.map(([, obj]) => obj);
  }

  get(type: ResourceType, namespace: string, name: string): KubeObject {
    const found = this.#table(type).get(objectKey(namespace, name));
    if (found === undefined) throw notFound(type, name);
    return found;
  }

  #checkTypeAndNamespace(type: ResourceType, namespace: string, body: KubeObject): void {
    const expected = apiVersionOf(type);
    if (body.apiVersion !== undefined && body.apiVersion !== expected) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${expected})`);
    }
    if (body.kind !== undefined && body.kind !== type.kind) {
      throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${type.kind})`);
    }
    const bodyNamespace = body.metadata.namespace;
    if (type.namespaced && bodyNamespace !== undefined && bodyNamespace !== "" && bodyNamespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
  }

  #normalise(type: ResourceType, namespace: string, obj: KubeObject): KubeObject {
    const metadata = { ...obj.metadata };
    if (type.namespaced) metadata.namespace = namespace;
    else delete metadata.namespace;
    return { ...obj, apiVersion: apiVersionOf(type), kind: type.kind, metadata };
  }

  #write(type: ResourceType, eventType: WatchEventType, obj: KubeObject, previous?: KubeObject): KubeObject {
    const rv = ++this.#rv;
    const stamped: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    const key = objectKey(stamped.metadata.namespace ?? "", stamped.metadata.name ?? "");
    if (eventType === "DELETED") this.#table(type).delete(key);
    else this.#table(type).set(key, stamped);
    const event: StoreEvent = { type: eventType, resource: type, object: stamped, rv };
    if (previous !== undefined) event.previous = previous;
    this.#onEvent(event);
    return stamped;
  }

  create(type: ResourceType, namespace: string, body: KubeObject): KubeObject {
    this.#checkTypeAndNamespace(type, namespace, body);
    const obj = this.#normalise(type, namespace, body);
    const meta = obj.metadata;
    if ((meta.name ?? "") === "") {
      if ((meta.generateName ?? "") === "") throw invalid(type, "", "metadata.name: Required value: name or generateName is required");
      meta.name = `${meta.generateName ?? ""}${this.#deps.nameSuffix()}`;
    }
    const name = meta.name ?? "";
    if ((meta.resourceVersion ?? "") !== "") throw badRequest("resourceVersion should not be set on objects to be created");
    if (this.#table(type).has(objectKey(namespace, name))) throw alreadyExists(type, name);
    meta.uid = this.#deps.newUid();
    // Kept when given, so tests can create objects with a chosen age.
    meta.creationTimestamp ??= formatTimestamp(this.#deps.now());
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.resourceVersion;
    if (type.hasStatus) delete obj.status;
    return this.#write(type, "ADDED", obj);
  }

  update(type: ResourceType, namespace: string, name: string, body: KubeObject, subresource?: Subresource): KubeObject {
    this.#checkTypeAndNamespace(type, namespace, body);
    const bodyName = body.metadata.name;
    if (bodyName !== undefined && bodyName !== name) {
      throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    }
    const existing = this.get(type, namespace, name);
    const expectedRv = body.metadata.resourceVersion ?? "";
    if (expectedRv !== "" && expectedRv !== existing.metadata.resourceVersion) throw conflict(type, name);
    return this.#replace(type, existing, this.#normalise(type, namespace, { ...body, metadata: { ...body.metadata, name } }), subresource);
  }

  patch(type: ResourceType, namespace: string, name: string, patchType: PatchType, patch: unknown, subresource?: Subresource): KubeObject {
    const existing = this.get(type, namespace, name);
    const patched = applyPatch(patchType, existing, patch);
    if (typeof patched !== "object" || patched === null || Array.isArray(patched)) throw invalid(type, name, "the patch result is not an object");
    const result = patched as KubeObject;
    if (typeof result.metadata !== "object" || result.metadata === null) throw invalid(type, name, "metadata: Required value");
    if (result.metadata.name !== name) throw invalid(type, name, "metadata.name: Invalid value: field is immutable");
    if (type.namespaced && result.metadata.namespace !== namespace) throw invalid(type, name, "metadata.namespace: Invalid value: field is immutable");
    // A resourceVersion set by the patch is a precondition, as on a real server.
    const expectedRv = result.metadata.resourceVersion ?? "";
    if (expectedRv !== "" && expectedRv !== existing.metadata.resourceVersion) throw conflict(type, name);
    this.#checkTypeAndNamespace(type, namespace, result);
    return this.#replace(type, existing, this.#normalise(type, namespace, result), subresource);
  }

  #replace(type: ResourceType, existing: KubeObject, incoming: KubeObject, subresource: Subresource): KubeObject {
    let next: KubeObject;
    if (subresource === "status") {
      next = { ...existing };
      if (incoming.status === undefined) delete next.status;
      else next.status = incoming.status;
    } else {
      next = { ...incoming };
      if (type.hasStatus) {
        if (existing.status === undefined) delete next.status;
        else next.status = existing.status;
      }
    }
    const meta = { ...next.metadata };
    const old = existing.metadata;
    if (old.uid !== undefined) meta.uid = old.uid;
    if (old.creationTimestamp !== undefined) meta.creationTimestamp = old.creationTimestamp;
    if (old.deletionTimestamp !== undefined) meta.deletionTimestamp = old.deletionTimestamp;
    else delete meta.deletionTimestamp;
    const generation = old.generation ?? 1;
    meta.generation = isDeepStrictEqual(content(next), content(existing)) ? generation : generation + 1;
    meta.resourceVersion = old.resourceVersion;
    next.metadata = meta;
    // A write that changes nothing neither bumps the resourceVersion nor emits an event.
    if (isDeepStrictEqual(withoutVolatileMeta(next), withoutVolatileMeta(existing))) return existing;
    if (meta.deletionTimestamp !== undefined && (meta.finalizers ?? []).length === 0) {
      this.#write(type, "DELETED", next, existing);
      return next;
    }
    return this.#write(type, "MODIFIED", next, existing);
  }

  delete(type: ResourceType, namespace: string, name: string, preconditions: DeletePreconditions = {}): KubeObject | StatusObject {
    const existing = this.get(type, namespace, name);
    if (preconditions.uid !== undefined && preconditions.uid !== existing.metadata.uid) throw conflict(type, name);
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(type, name);
    }
    if ((existing.metadata.finalizers ?? []).length > 0) {
      // Finalizers hold the object: it is only marked, as the real server does.
      if (existing.metadata.deletionTimestamp !== undefined) return existing;
      const marked = { ...existing, metadata: { ...existing.metadata, deletionTimestamp: formatTimestamp(this.#deps.now()) } };
      return this.#write(type, "MODIFIED", marked, existing);
    }
    this.#write(type, "DELETED", existing, existing);
    const details = { name, group: type.group, kind: type.resource };
    return successStatus(existing.metadata.uid === undefined ? details : { ...details, uid: existing.metadata.uid });
  }
}

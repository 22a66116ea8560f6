// Small typed client for tests: writes and reads objects on the API test server (mapping
// kind -> path itself) and drives its /_test/ control API. Uses node:https with the test CA.

import { Agent, request as httpsRequest } from "node:https";
import { findByKind, resourcePath, type ResourceType } from "./resources.ts";
import type { KubeObject } from "./objects.ts";
import type { RequestRecord } from "./request-log.ts";

export type { KubeObject, ObjectMeta } from "./objects.ts";
export type { RequestRecord } from "./request-log.ts";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** Omit for cluster-scoped kinds. */
  namespace?: string;
  name: string;
}

export interface ListOptions {
  /** Omit for all namespaces (or a cluster-scoped kind). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ObjectList {
  resourceVersion: string;
  items: KubeObject[];
}

/** merge: application/merge-patch+json; strategic: application/strategic-merge-patch+json; json: RFC 6902. */
export type PatchType = "merge" | "strategic" | "json";

/** Which requests an injected failure or delay applies to; an absent field matches anything. */
export interface RequestFilter {
  method?: string;
  pathPrefix?: string;
  /** true: only watches; false: only non-watch requests; absent: both. */
  watch?: boolean;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb?: string;
  /** Plural resource, optionally qualified: "services", "ingresses.networking.k8s.io". */
  resource?: string;
}

export interface FailOptions extends RequestFilter {
  message?: string;
}

/** "end" closes streams cleanly (like a server-side timeout); "destroy" breaks the connections. */
export type DropMode = "end" | "destroy";

export interface ServerState {
  resourceVersion: string;
  compactedResourceVersion: string;
  openWatches: number;
  pendingFailures: number;
  pendingDelays: number;
}

export interface RawResponse {
  status: number;
  body: unknown;
}

const PATCH_CONTENT_TYPES: Readonly<Record<PatchType, string>> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};

/** A non-2xx answer; `status` is the Kubernetes Status object the server sent. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly status: unknown;
  constructor(code: number, status: unknown) {
    const fields = (typeof status === "object" && status !== null ? status : {}) as { reason?: unknown; message?: unknown };
    const reason = typeof fields.reason === "string" ? fields.reason : "Unknown";
    super(`${code} ${reason}: ${typeof fields.message === "string" ? fields.message : JSON.stringify(status)}`);
    this.code = code;
    this.reason = reason;
    this.status = status;
  }
}

export function resourceTypeFor(apiVersion: string, kind: string): ResourceType {
  const type = findByKind(apiVersion, kind);
  if (type === undefined) throw new Error(`the API test server does not serve ${apiVersion} ${kind}`);
  return type;
}

/** URL path of an object (or of a collection when `name` is omitted). */
export function pathFor(apiVersion: string, kind: string, namespace?: string, name?: string, subresource?: string): string {
  const type = resourceTypeFor(apiVersion, kind);
  return resourcePath(type, type.namespaced ? (namespace ?? "default") : undefined, name, subresource);
}

/** Where an object lives: an ObjectRef, or an object (its apiVersion, kind and metadata). */
export type ObjectLocator = ObjectRef | KubeObject;

function locate(target: ObjectLocator): ObjectRef {
  return "metadata" in target ? refOf(target) : target;
}

export function refOf(obj: KubeObject): ObjectRef {
  if (obj.apiVersion === undefined || obj.kind === undefined || obj.metadata.name === undefined) {
    throw new Error("an object needs apiVersion, kind and metadata.name");
  }
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace !== undefined) ref.namespace = obj.metadata.namespace;
  return ref;
}

export class KubeTestClient {
  readonly #url: URL;
  readonly #token: string;
  readonly #agent: Agent;

  constructor(options: { url: string; token: string; ca: string }) {
    this.#url = new URL(options.url);
    this.#token = options.token;
    this.#agent = new Agent({ ca: options.ca, keepAlive: true });
  }

  /** Any request, without throwing on error statuses. */
  raw(method: string, path: string, body?: unknown, contentType = "application/json", token: string | null = this.#token): Promise<RawResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: "application/json" };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) {
      headers["content-type"] = contentType;
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(path, this.#url), { method, headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text === "" ? undefined : (JSON.parse(text) as unknown);
          } catch {
            // Not JSON (health endpoints): keep the text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  async #call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const response = await this.raw(method, path, body, contentType);
    if (response.status < 200 || response.status > 299) throw new KubeApiError(response.status, response.body);
    return response.body as T;
  }

  /** POST; metadata.generateName works in place of a name. */
  create<T extends KubeObject>(obj: T): Promise<T> {
    if (obj.apiVersion === undefined || obj.kind === undefined) throw new Error("an object needs apiVersion and kind");
    return this.#call<T>("POST", pathFor(obj.apiVersion, obj.kind, obj.metadata.namespace), obj);
  }

  /** PUT; a metadata.resourceVersion in `obj` makes it conditional (409 Conflict when stale). */
  update<T extends KubeObject>(obj: T): Promise<T> {
    const { apiVersion, kind, namespace, name } = refOf(obj);
    return this.#call<T>("PUT", pathFor(apiVersion, kind, namespace, name), obj);
  }

  /** PUT on the status subresource: only `status` changes. */
  updateStatus<T extends KubeObject>(obj: T): Promise<T> {
    const { apiVersion, kind, namespace, name } = refOf(obj);
    return this.#call<T>("PUT", pathFor(apiVersion, kind, namespace, name, "status"), obj);
  }

  /**
   * Creates the object, or replaces it unconditionally when it exists. A `status` on a kind
   * with a status subresource is written there too, so the stored object ends up as given.
   */
  async apply<T extends KubeObject>(obj: T): Promise<T> {
    const ref = refOf(obj);
    const existing = await this.tryGet(ref);
    const { resourceVersion: _rv, ...metadata } = obj.metadata;
    const body = { ...obj, metadata: existing === undefined ? metadata : { ...metadata, resourceVersion: existing.metadata.resourceVersion } };
    const written = existing === undefined ? await this.create(body) : await this.update(body);
    if (obj.status === undefined || !resourceTypeFor(ref.apiVersion, ref.kind).hasStatus) return written;
    return this.updateStatus({ ...written, status: obj.status });
  }

  patch<T extends KubeObject = KubeObject>(target: ObjectLocator, patch: unknown, options: { type?: PatchType; subresource?: "status" } = {}): Promise<T> {
    const ref = locate(target);
    const path = pathFor(ref.apiVersion, ref.kind, ref.namespace, ref.name, options.subresource);
    return this.#call<T>("PATCH", path, patch, PATCH_CONTENT_TYPES[options.type ?? "merge"]);
  }

  /** The Status of a deletion, or the object when finalizers hold it. */
  delete(target: ObjectLocator): Promise<unknown> {
    const ref = locate(target);
    return this.#call("DELETE", pathFor(ref.apiVersion, ref.kind, ref.namespace, ref.name));
  }

  get<T extends KubeObject = KubeObject>(target: ObjectLocator): Promise<T> {
    const ref = locate(target);
    return this.#call<T>("GET", pathFor(ref.apiVersion, ref.kind, ref.namespace, ref.name));
  }

  /** Like get, but undefined when the object does not exist. */
  async tryGet<T extends KubeObject = KubeObject>(target: ObjectLocator): Promise<T | undefined> {
    try {
      return await this.get<T>(target);
    } catch (error) {
      if (error instanceof KubeApiError && error.code === 404) return undefined;
      throw error;
    }
  }

  async list(apiVersion: string, kind: string, options: ListOptions = {}): Promise<ObjectList> {
    const type = resourceTypeFor(apiVersion, kind);
    const query = new URLSearchParams();
    if (options.labelSelector !== undefined) query.set("labelSelector", options.labelSelector);
    if (options.fieldSelector !== undefined) query.set("fieldSelector", options.fieldSelector);
    const path = resourcePath(type, type.namespaced ? options.namespace : undefined);
    const list = await this.#call<{ metadata: { resourceVersion: string }; items: KubeObject[] }>("GET", `${path}?${query.toString()}`);
    return { resourceVersion: list.metadata.resourceVersion, items: list.items.map((item) => ({ apiVersion, kind, ...item })) };
  }

  async dropWatches(mode: DropMode = "end"): Promise<number> {
    return (await this.#call<{ dropped: number }>("POST", "/_test/drop-watches", { mode })).dropped;
  }

  /** Forgets watch history: resuming from any earlier RV gets 410. `dropWatches` drops open watches in the same instant. */
  async compact(options: { dropWatches?: boolean; mode?: DropMode } = {}): Promise<{ compactedResourceVersion: string; dropped: number }> {
    return this.#call("POST", "/_test/compact", options);
  }

  /** The next `count` requests matching `options` are answered with `status`. */
  async failNext(count: number, status: number, options: FailOptions = {}): Promise<void> {
    await this.#call("POST", "/_test/fail", { count, status, ...options });
  }

  async clearFailures(): Promise<void> {
    await this.#call("POST", "/_test/fail/clear", {});
  }

  /** The next `count` requests matching `filter` are held `delayMs` before they are served (or failed by failNext). */
  async delayNext(count: number, delayMs: number, filter: RequestFilter = {}): Promise<void> {
    await this.#call("POST", "/_test/delay", { count, delayMs, ...filter });
  }

  async clearDelays(): Promise<void> {
    await this.#call("POST", "/_test/delay/clear", {});
  }

  async requests(): Promise<RequestRecord[]> {
    return (await this.#call<{ items: RequestRecord[] }>("GET", "/_test/requests")).items;
  }

  async clearRequests(): Promise<void> {
    await this.#call("POST", "/_test/requests/clear", {});
  }

  async pauseWatches(): Promise<void> {
    await this.#call("POST", "/_test/pause-watches", {});
  }

  async resumeWatches(): Promise<void> {
    await this.#call("POST", "/_test/resume-watches", {});
  }

  /** ClusterRole/Role objects to enforce (bindings are ignored); null turns RBAC off. */
  async setRbacPolicy(roles: unknown[] | null): Promise<void> {
    await this.#call("POST", "/_test/rbac", { policy: roles });
  }

  state(): Promise<ServerState> {
    return this.#call<ServerState>("GET", "/_test/state");
  }

  close(): void {
    this.#agent.destroy();
  }
}

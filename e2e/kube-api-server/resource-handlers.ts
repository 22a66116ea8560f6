// Serves one authorized resource request: list (with selectors and paging), watch
// (JSON lines), get, create, update, patch, delete, deletecollection.

import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { apiVersionOf } from "./resources.ts";
import { objectKey, parseKubeObject, type KubeObject } from "./objects.ts";
import { parseFieldSelector, parseLabelSelector, type ObjectPredicate } from "./selectors.ts";
import { patchTypeOf } from "./patch.ts";
import { badRequest } from "./status.ts";
import { readJsonBody, sendJson } from "./http-util.ts";
import type { ResourceRequest } from "./request-info.ts";
import type { ObjectStore } from "./store.ts";
import type { WatchHub } from "./watch-hub.ts";

export type BookmarkMode = "requested" | "always" | "never";

export interface HandlerContext {
  store: ObjectStore;
  hub: WatchHub;
  bookmarks: BookmarkMode;
}

const deleteOptionsSchema = z
  .looseObject({
    preconditions: z.object({ uid: z.string().optional(), resourceVersion: z.string().optional() }).nullish(),
  })
  .optional();

function namespaceOf(request: ResourceRequest): string {
  return request.type.namespaced ? (request.namespace ?? "") : "";
}

function selectorFilter(request: ResourceRequest, query: URLSearchParams): ObjectPredicate {
  const labels = parseLabelSelector(query.get("labelSelector"));
  const fields = parseFieldSelector(query.get("fieldSelector"), request.type);
  const { namespace, name } = request;
  return (obj) =>
    (namespace === undefined || obj.metadata.namespace === namespace) &&
    (name === undefined || obj.metadata.name === name) &&
    labels(obj) &&
    fields(obj);
}

/** Typed lists carry apiVersion/kind once, on the list; items omit them, as on a real server. */
function listItem(obj: KubeObject): KubeObject {
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = obj;
  return rest;
}

function parseIntParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === "") return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(`invalid ${name} "${raw}": must be a non-negative integer`);
  return Number(raw);
}

interface ContinueToken {
  rv: number;
  after: string;
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = z.object({ rv: z.number(), after: z.string() }).parse(JSON.parse(Buffer.from(token, "base64url").toString("utf8")));
    return parsed;
  } catch {
    throw badRequest(`invalid continue token "${token}"`);
  }
}

function serveList(ctx: HandlerContext, request: ResourceRequest, query: URLSearchParams, res: ServerResponse): void {
  const { type } = request;
  const filter = selectorFilter(request, query);
  const limit = parseIntParam(query, "limit");
  const token = query.get("continue");
  const start = token === null || token === "" ? undefined : decodeContinue(token);
  const keyOf = (obj: KubeObject): string => objectKey(obj.metadata.namespace ?? "", obj.metadata.name ?? "");
  let items = ctx.store.list(type, request.namespace).filter(filter);
  if (start !== undefined) items = items.filter((obj) => keyOf(obj) > start.after);
  const metadata: Record<string, string> = { resourceVersion: String(start?.rv ?? ctx.store.resourceVersion) };
  if (limit !== undefined && limit > 0 && items.length > limit) {
    items = items.slice(0, limit);
    const last = items[items.length - 1];
    const next: ContinueToken = { rv: start?.rv ?? ctx.store.resourceVersion, after: last === undefined ? "" : keyOf(last) };
    metadata.continue = Buffer.from(JSON.stringify(next)).toString("base64url");
  }
  sendJson(res, 200, { apiVersion: apiVersionOf(type), kind: `${type.kind}List`, metadata, items: items.map(listItem) });
}

function serveWatch(ctx: HandlerContext, request: ResourceRequest, query: URLSearchParams, res: ServerResponse): void {
  const filter = selectorFilter(request, query);
  const rvParam = query.get("resourceVersion") ?? "";
  // Unset or "0": start with the current state as synthetic ADDED events.
  const sinceRv = rvParam === "" || rvParam === "0" ? undefined : parseIntParam(query, "resourceVersion");
  const timeoutSeconds = parseIntParam(query, "timeoutSeconds");
  const bookmarks = ctx.bookmarks === "always" || (ctx.bookmarks === "requested" && query.get("allowWatchBookmarks") === "true");
  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
  res.flushHeaders();
  const unregister = ctx.hub.open({
    resource: request.type,
    filter,
    sinceRv,
    bookmarks,
    ...(timeoutSeconds === undefined || timeoutSeconds === 0 ? {} : { timeoutMs: timeoutSeconds * 1000 }),
    sink: {
      send: (line) => {
        if (!res.writableEnded) res.write(line);
      },
      end: () => res.end(),
      destroy: () => res.socket?.destroy(),
    },
  });
  res.on("close", unregister);
}

function sendObject(res: ServerResponse, code: number, obj: unknown): void {
  sendJson(res, code, obj);
}

export async function serveResource(
  ctx: HandlerContext,
  request: ResourceRequest,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const { store } = ctx;
  const { type, name = "", subresource } = request;
  const namespace = namespaceOf(request);
  switch (request.verb) {
    case "list":
      return serveList(ctx, request, query, res);
    case "watch":
      return serveWatch(ctx, request, query, res);
    case "get":
      return sendObject(res, 200, store.get(type, namespace, name));
    case "create":
      return sendObject(res, 201, store.create(type, namespace, parseKubeObject(await readJsonBody(req))));
    case "update":
      return sendObject(res, 200, store.update(type, namespace, name, parseKubeObject(await readJsonBody(req)), subresource));
    case "patch": {
      const patchType = patchTypeOf(req.headers["content-type"]);
      const patch = await readJsonBody(req);
      if (patch === undefined) throw badRequest("the patch body is empty");
      return sendObject(res, 200, store.patch(type, namespace, name, patchType, patch, subresource));
    }
    case "delete": {
      const options = deleteOptionsSchema.safeParse(await readJsonBody(req));
      if (!options.success) throw badRequest("invalid DeleteOptions");
      const preconditions = options.data?.preconditions ?? {};
      return sendObject(res, 200, store.delete(type, namespace, name, preconditions));
    }
    case "deletecollection": {
      const filter = selectorFilter(request, query);
      const deleted = store
        .list(type, request.namespace)
        .filter(filter)
        .map((obj) => store.delete(type, obj.metadata.namespace ?? "", obj.metadata.name ?? ""));
      return sendObject(res, 200, { apiVersion: apiVersionOf(type), kind: `${type.kind}List`, metadata: { resourceVersion: String(store.resourceVersion) }, items: deleted });
    }
  }
}


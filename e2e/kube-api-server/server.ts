// The HTTPS API test server: authentication, request log, RBAC, fault and delay injection and the
// control API around the store, watch hub and resource handlers. No process-level concerns.

import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { apiVersionOf } from "./resources.ts";
import { ObjectStore, type StoreDeps } from "./store.ts";
import { WatchHub } from "./watch-hub.ts";
import { FaultInjector, type DelayRule } from "./faults.ts";
import { RequestLog } from "./request-log.ts";
import { forbidden, isAllowed, type RbacPolicy, type RequestAttributes } from "./rbac.ts";
import { CONTROL_PREFIX, handleControl } from "./control-api.ts";
import { discoveryDocument } from "./discovery.ts";
import { parseResourceRequest } from "./request-info.ts";
import { serveResource, type BookmarkMode } from "./resource-handlers.ts";
import { ApiError, failureStatus, methodNotAllowed } from "./status.ts";
import { readJsonBody, sendError, sendJson, sendText } from "./http-util.ts";

export interface ApiServerOptions {
  tls: { cert: string; key: string };
  /** The bearer token every request must carry. */
  token: string;
  /** The user name RBAC messages mention. */
  user?: string;
  bookmarkIntervalMs?: number;
  historyLimit?: number;
  /** "requested": only with allowWatchBookmarks=true, as a real server. */
  bookmarks?: BookmarkMode;
  policy?: RbacPolicy;
  /** Called once per finished request when given (verbose logging). */
  log?: (line: string) => void;
  deps?: Partial<StoreDeps>;
}

export interface ApiServer {
  readonly store: ObjectStore;
  readonly hub: WatchHub;
  readonly requestLog: RequestLog;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

const HEALTH_PATHS = new Set(["/healthz", "/livez", "/readyz"]);
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function randomNameSuffix(): string {
  return [...randomBytes(5)].map((b) => NAME_ALPHABET[b % NAME_ALPHABET.length] ?? "x").join("");
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  const user = options.user ?? "turnout-test";
  const bookmarks = options.bookmarks ?? "requested";
  const deps: StoreDeps = { now: () => new Date(), newUid: randomUUID, nameSuffix: randomNameSuffix, ...options.deps };
  let policy = options.policy;
  let address = "127.0.0.1:0";
  const hub = new WatchHub({
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
    historyLimit: options.historyLimit ?? 10_000,
    currentRv: () => store.resourceVersion,
    listCurrent: (type) => store.list(type),
  });
  const store = new ObjectStore(deps, (event) => hub.publish(event));
  const faults = new FaultInjector();
  const delays = new FaultInjector<DelayRule>();
  const requestLog = new RequestLog();
  const control = { hub, store, faults, delays, requestLog, setPolicy: (next: RbacPolicy | undefined) => (policy = next) };

  function authenticated(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${options.token}`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const { pathname, searchParams } = url;
    if (HEALTH_PATHS.has(pathname)) return sendText(res, 200, "ok");
    if (!authenticated(req)) throw new ApiError(failureStatus(401, "Unauthorized", "Unauthorized"));
    if (pathname.startsWith(CONTROL_PREFIX)) {
      return sendJson(res, 200, handleControl(method, pathname, method === "POST" ? await readJsonBody(req) : undefined, control));
    }
    const request = parseResourceRequest(method, pathname, searchParams);
    if (request === undefined) {
      if (method !== "GET") throw methodNotAllowed(method);
      return sendJson(res, 200, discoveryDocument(pathname, address));
    }
    const attrs: RequestAttributes = {
      verb: request.verb,
      apiGroup: request.type.group,
      resource: request.type.resource,
      subresource: request.subresource,
      namespace: request.namespace,
      name: request.name,
    };
    const allowed = isAllowed(policy, attrs);
    const record = requestLog.add({
      verb: request.verb,
      apiGroup: request.type.group,
      apiVersion: apiVersionOf(request.type),
      resource: request.type.resource,
      ...(request.subresource === undefined ? {} : { subresource: request.subresource }),
      ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
      ...(request.name === undefined ? {} : { name: request.name }),
      allowed,
      code: 0,
    });
    // "finish" comes before the client can read the answer; watches are stamped once streaming.
    res.on("finish", () => (record.code = res.statusCode));
    if (!allowed) throw forbidden(attrs, user);
    const shape = { method, pathname, verb: request.verb, resource: request.type.resource, apiGroup: request.type.group };
    // Both rules are consumed on arrival, so "the next N requests" means the next N to arrive.
    const held = delays.take(shape);
    const fault = faults.take(shape);
    // Unreferenced: a held request does not keep a stopping server alive.
    if (held !== undefined) await sleep(held.delayMs, undefined, { ref: false });
    if (fault !== undefined) {
      throw new ApiError(failureStatus(fault.status, fault.message ?? `injected failure (${fault.status}) for ${method} ${pathname}`));
    }
    await serveResource({ store, hub, bookmarks }, request, req, res, searchParams);
    if (res.headersSent) record.code = res.statusCode;
  }

  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    const log = options.log;
    if (log !== undefined) res.on("close", () => log(`${req.method ?? "?"} ${req.url ?? "?"} ${res.statusCode}`));
    handle(req, res).catch((error: unknown) => sendError(res, error));
  });

  return {
    store,
    hub,
    requestLog,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const bound = (server.address() as AddressInfo).port;
          address = `${host}:${bound}`;
          resolve(bound);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        hub.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

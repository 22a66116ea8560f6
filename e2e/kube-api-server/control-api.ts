// The test-only control API under /_test/ (a path no real cluster has): drop or pause
// watches, compact history, inject failures and delays, read the request log, set the RBAC policy.

import { z } from "zod";
import { ApiError, badRequest, failureStatus, methodNotAllowed, pathNotFound } from "./status.ts";
import { parseRbacDocuments, type RbacPolicy } from "./rbac.ts";
import type { DelayRule, FaultInjector } from "./faults.ts";
import type { RequestLog } from "./request-log.ts";
import type { ObjectStore } from "./store.ts";
import type { WatchHub } from "./watch-hub.ts";

export const CONTROL_PREFIX = "/_test/";

export interface ControlContext {
  hub: WatchHub;
  store: ObjectStore;
  faults: FaultInjector;
  delays: FaultInjector<DelayRule>;
  requestLog: RequestLog;
  setPolicy: (policy: RbacPolicy | undefined) => void;
}

const dropSchema = z.object({ mode: z.enum(["end", "destroy"]).default("end") });

const compactSchema = z.object({
  /** Also drop open watches, in the same instant, so no bookmark can carry the new RV first. */
  dropWatches: z.boolean().default(false),
  mode: z.enum(["end", "destroy"]).default("end"),
});

const filterSchema = z.object({
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .optional(),
  pathPrefix: z.string().startsWith("/").optional(),
  watch: z.boolean().optional(),
  verb: z.enum(["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]).optional(),
  resource: z.string().min(1).optional(),
});

const failSchema = filterSchema.extend({
  count: z.number().int().positive(),
  status: z.number().int().min(400).max(599),
  message: z.string().optional(),
});

// Capped so a mistaken value cannot hold a request past any test's timeout.
const delaySchema = filterSchema.extend({
  count: z.number().int().positive(),
  delayMs: z.number().int().positive().max(60_000),
});

const rbacSchema = z.object({ policy: z.array(z.unknown()).nullable() });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    throw badRequest(`invalid control request: ${result.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`);
  }
  return result.data;
}

type Handler = (body: unknown, ctx: ControlContext) => unknown;

const POST_HANDLERS: Readonly<Record<string, Handler>> = {
  "drop-watches": (body, ctx) => ({ dropped: ctx.hub.dropAll(parseBody(dropSchema, body).mode) }),
  compact: (body, ctx) => {
    const request = parseBody(compactSchema, body);
    // Writes elsewhere in a real cluster move the global RV on; without that, a client
    // already at the newest RV could never be expired.
    ctx.store.bump();
    ctx.hub.compact();
    const dropped = request.dropWatches ? ctx.hub.dropAll(request.mode) : 0;
    return { compactedResourceVersion: String(ctx.hub.compactedResourceVersion), dropped };
  },
  fail: (body, ctx) => {
    const { count, ...rule } = parseBody(failSchema, body);
    ctx.faults.add({ remaining: count, ...rule });
    return { pending: ctx.faults.pending };
  },
  "fail/clear": (_body, ctx) => {
    ctx.faults.clear();
    return { pending: 0 };
  },
  delay: (body, ctx) => {
    const { count, ...rule } = parseBody(delaySchema, body);
    ctx.delays.add({ remaining: count, ...rule });
    return { pending: ctx.delays.pending };
  },
  "delay/clear": (_body, ctx) => {
    ctx.delays.clear();
    return { pending: 0 };
  },
  "requests/clear": (_body, ctx) => {
    ctx.requestLog.clear();
    return {};
  },
  "pause-watches": (_body, ctx) => {
    ctx.hub.pause();
    return {};
  },
  "resume-watches": (_body, ctx) => {
    ctx.hub.resume();
    return {};
  },
  rbac: (body, ctx) => {
    const { policy } = parseBody(rbacSchema, body);
    try {
      ctx.setPolicy(policy === null ? undefined : parseRbacDocuments(policy));
    } catch (error) {
      throw badRequest(error instanceof Error ? error.message : String(error));
    }
    return {};
  },
};

const GET_HANDLERS: Readonly<Record<string, Handler>> = {
  requests: (_body, ctx) => ({ items: ctx.requestLog.entries() }),
  state: (_body, ctx) => ({
    resourceVersion: String(ctx.store.resourceVersion),
    compactedResourceVersion: String(ctx.hub.compactedResourceVersion),
    openWatches: ctx.hub.openWatches,
    pendingFailures: ctx.faults.pending,
    pendingDelays: ctx.delays.pending,
  }),
};

/** Serves one control request; the result is sent as JSON. Throws ApiError for bad requests. */
export function handleControl(method: string, pathname: string, body: unknown, ctx: ControlContext): unknown {
  const action = pathname.slice(CONTROL_PREFIX.length).replace(/\/+$/, "");
  const handlers = method === "POST" ? POST_HANDLERS : method === "GET" ? GET_HANDLERS : undefined;
  if (handlers === undefined) throw methodNotAllowed(method);
  const handler = handlers[action];
  if (handler === undefined) {
    const other = method === "POST" ? GET_HANDLERS : POST_HANDLERS;
    if (other[action] !== undefined) throw methodNotAllowed(method);
    throw pathNotFound();
  }
  try {
    return handler(body, ctx);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(failureStatus(500, error instanceof Error ? error.message : String(error)));
  }
}

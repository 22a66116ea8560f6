// The messages between the primary and its proxy workers. They travel over the
// node:cluster IPC channel with serialization "advanced" (structured clone), so a
// RouteTable's Maps, arrays and RegExps arrive as such; parsing checks the shape
// of each message and the kind of its payloads, not every field of a table.
import { z } from "zod";
import type { EndpointSlice, Secret } from "../store/index.ts";
import type { BackendRef, HostRoutes, RouteGroup, RouteTable } from "../routing/route-table.ts";
import type { MetricsSnapshot } from "../observability/metrics.ts";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

const routeTable = z.custom<RouteTable>(
  (v) => isRecord(v) && v.exactHosts instanceof Map && v.wildcardHosts instanceof Map && Array.isArray(v.backends),
  { error: "not a RouteTable (Maps lost? the IPC channel needs serialization: advanced)" },
);
const hostRoutes = z.custom<HostRoutes>((v) => isRecord(v) && typeof v.host === "string" && v.exact instanceof Map && v.prefix instanceof Map, {
  error: "not HostRoutes",
});
const routeGroup = z.custom<RouteGroup>((v) => isRecord(v) && Array.isArray(v.weighted) && Array.isArray(v.conditioned), { error: "not a RouteGroup" });
const backendRef = z.custom<BackendRef>((v) => isRecord(v) && typeof v.key === "string", { error: "not a BackendRef" });
/** Changes to one host Map: entries to set (added or changed) and keys to remove. */
const hostChanges = z.object({ set: z.array(z.tuple([z.string(), hostRoutes])), remove: z.array(z.string()) });
const endpointSlice = z.custom<EndpointSlice>((v) => isRecord(v) && v.kind === "EndpointSlice" && isRecord(v.meta) && Array.isArray(v.endpoints), {
  error: "not an EndpointSlice",
});
const secret = z.custom<Secret>((v) => isRecord(v) && v.kind === "Secret" && isRecord(v.meta) && isRecord(v.data), { error: "not a Secret" });
const metricsSnapshot = z.custom<MetricsSnapshot>((v) => Array.isArray(v), { error: "not a metrics snapshot" });
const generation = z.number().int().nonnegative();
const change = z.enum(["upsert", "delete"]);

const publishedTable = z.object({ generation, publishedAt: z.number(), table: routeTable });

/** A table as the primary published it: its generation is the primary's, shared by every worker. */
export type PublishedTableMessage = z.infer<typeof publishedTable>;

const primaryMessage = z.discriminatedUnion("type", [
  /** The first message a worker gets: everything it needs to serve, as of now. */
  z.object({
    type: z.literal("snapshot"),
    selfSigned: z.object({ cert: z.string(), key: z.string() }),
    /** The ports to listen on: the flags', with port 0 already resolved by the primary. */
    ports: z.object({ http: z.number().int().min(1).max(65535), https: z.number().int().min(1).max(65535) }),
    published: publishedTable.optional(),
    slices: z.array(endpointSlice),
    secrets: z.array(secret),
    /** Addresses failing their active health check. */
    failedActiveChecks: z.array(z.string()),
  }),
  publishedTable.extend({ type: z.literal("table") }),
  /**
   * A table as changes to the one of generation `base`: successive tables share the
   * routes of unchanged hosts, so only changed hosts travel.
   */
  z.object({
    type: z.literal("table-delta"),
    generation,
    base: generation,
    publishedAt: z.number(),
    exactHosts: hostChanges,
    wildcardHosts: hostChanges,
    anyHost: hostRoutes.nullable(),
    defaultBackend: routeGroup.nullable(),
    backends: z.object({ set: z.array(backendRef), remove: z.array(z.string()) }),
  }),
  z.object({ type: z.literal("slice"), change, slice: endpointSlice }),
  z.object({ type: z.literal("secret"), change, secret }),
  z.object({ type: z.literal("active-check"), address: z.string(), failed: z.boolean() }),
  z.object({ type: z.literal("metrics-request"), id: z.number().int() }),
  /** Answer with a pong: a worker that does not is hung and is replaced. */
  z.object({ type: z.literal("ping") }),
  /** Stop accepting, finish in-flight requests (closing what is left after graceMs), exit 0. */
  z.object({ type: z.literal("drain"), graceMs: z.number().int().nonnegative() }),
]);

const workerMessage = z.discriminatedUnion("type", [
  /** The worker listens for messages now: send it a snapshot. */
  z.object({ type: z.literal("hello") }),
  /** The worker has applied this table generation (0: none yet). */
  z.object({ type: z.literal("applied"), generation }),
  /** A table delta did not apply to the worker's table: send the whole current table. */
  z.object({ type: z.literal("resync"), generation }),
  /** The worker's listeners are open (on the ports every worker shares). */
  z.object({ type: z.literal("listening"), http: z.number().int(), https: z.number().int() }),
  z.object({ type: z.literal("metrics"), id: z.number().int(), metrics: metricsSnapshot }),
  z.object({ type: z.literal("pong") }),
]);

export type PrimaryMessage = z.infer<typeof primaryMessage>;
export type WorkerMessage = z.infer<typeof workerMessage>;
export type SnapshotMessage = Extract<PrimaryMessage, { type: "snapshot" }>;
/** The messages that change what a worker serves (its replica of the primary's state). */
export type ReplicationMessage = Extract<PrimaryMessage, { type: "snapshot" | "table" | "table-delta" | "slice" | "secret" | "active-check" }>;
export type TableDeltaMessage = Extract<PrimaryMessage, { type: "table-delta" }>;

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, value: unknown): Parsed<T> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, message: result.data };
  const type = isRecord(value) && typeof value.type === "string" ? value.type : typeof value;
  return { ok: false, error: `unexpected message (${type}): ${result.error.issues.map((i) => `${i.path.join(".") || "message"}: ${i.message}`).join("; ")}` };
}

export function parsePrimaryMessage(value: unknown): Parsed<PrimaryMessage> {
  return parseWith(primaryMessage, value);
}

export function parseWorkerMessage(value: unknown): Parsed<WorkerMessage> {
  return parseWith(workerMessage, value);
}

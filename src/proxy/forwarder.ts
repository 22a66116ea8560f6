// The forwarding engine's contract: what ProxyServer hands over per request, and
// the rules both engines share (error code per failure, outlier outcome, endpoint
// choice, the sticky-session cookie). The engines themselves do only the I/O.
import type { IncomingMessage, ServerResponse } from "node:http";
import { latencySample } from "../endpoints/endpoint-load.ts";
import type { EndpointLoadTracker } from "../endpoints/endpoint-load.ts";
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { AttemptOutcome } from "../health/outlier-detector.ts";
import type { BackendPolicy, BackendRef, RouteMember } from "../routing/route-table.ts";
import type { Logger } from "../observability/logger.ts";
import type { ErrorCode } from "../errors.ts";
import type { BackendPicker } from "./backend-picker.ts";
import type { ForwardedContext } from "./forward-headers.ts";
import { retryAllowed, type AttemptResult, type FailureKind } from "./retry-policy.ts";
import { publishRetry, publishUpstreamAttempt } from "../observability/events.ts";
import { sendError } from "./responses.ts";

/** Receives every attempt's outcome (the passive outlier detector). */
export interface AttemptReporter {
  report(address: string, backend: BackendRef, outcome: AttemptOutcome, policy: BackendPolicy): void;
}

/** One client request being forwarded, across its attempts. */
export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  member: RouteMember;
  /** The endpoint a valid sticky-session cookie names. */
  pinned: Endpoint | undefined;
  secure: boolean;
  hashKey: string | undefined;
  /** Addresses already tried; created when the first retry is decided (most requests never retry). */
  attempted: Set<string> | undefined;
  retriesLeft: number;
  /** False when a body may have been streamed upstream. */
  replayable: boolean;
  /** What X-Forwarded-* and X-Real-IP say. */
  forwarded: ForwardedContext;
  /** The upstream request headers as a flat list, built by the undici engine on the first attempt. */
  upstreamHeaders: string[] | undefined;
  /** Time to the response head of the latest attempt, in seconds. */
  upstreamSeconds?: number;
  /**
   * Set by the engine while an attempt is in flight; ProxyServer's one "close"
   * listener on the response calls it (cheaper than a listener per attempt).
   */
  onClientClose: (() => void) | undefined;
}

/** An engine that forwards requests and upgrades to endpoints. */
export interface Forwarder {
  /** Starts forwarding a request (picks the endpoint, retries as its policy allows, writes the response). */
  forward(request: ForwardRequest): void;
  /** Closes pooled upstream connections. */
  close(): void;
}

export interface ForwarderOptions {
  picker: BackendPicker;
  load: EndpointLoadTracker;
  reporter?: AttemptReporter;
  logger: Logger;
  now: () => number;
}

export const FORWARD_ENGINES = ["undici", "http-proxy"] as const;
export type ForwardEngine = (typeof FORWARD_ENGINES)[number];
export const DEFAULT_FORWARD_ENGINE: ForwardEngine = "undici";

/** The engine an environment value names: the default when unset or empty, an error message when unknown. */
export function parseForwardEngine(value: string | undefined): { ok: true; engine: ForwardEngine } | { ok: false; error: string } {
  if (value === undefined || value.trim() === "") return { ok: true, engine: DEFAULT_FORWARD_ENGINE };
  const engine = FORWARD_ENGINES.find((e) => e === value.trim().toLowerCase());
  if (engine !== undefined) return { ok: true, engine };
  return { ok: false, error: `TURNOUT_PROXY_ENGINE: unknown forwarding engine "${value}"; expected one of ${FORWARD_ENGINES.join(", ")}` };
}

/** The engine TURNOUT_PROXY_ENGINE selects; throws (turnout does not start) on an unknown one. */
export function forwardEngineFromEnv(env: NodeJS.ProcessEnv = process.env): ForwardEngine {
  const parsed = parseForwardEngine(env.TURNOUT_PROXY_ENGINE);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.engine;
}

/** The documented error a client gets when the last attempt failed this way. */
export const FAILURE_CODES: Readonly<Record<FailureKind, ErrorCode>> = {
  connect: "TURNOUT_ERR_UPSTREAM_CONNECT",
  reset: "TURNOUT_ERR_UPSTREAM_RESET",
  timeout: "TURNOUT_ERR_UPSTREAM_TIMEOUT",
  protocol: "TURNOUT_ERR_UPSTREAM_PROTOCOL",
};

/** What the outlier detector is told about a failed attempt. */
export const FAILURE_OUTCOMES: Readonly<Record<FailureKind, AttemptOutcome>> = { connect: "connect-failure", reset: "reset", timeout: "timeout", protocol: "reset" };

/**
 * The endpoint for the next attempt: the sticky-session endpoint if not tried yet,
 * else the balancer's pick, avoiding those tried. It is the pinned one when it is
 * `request.pinned` itself.
 */
export function nextEndpoint(request: ForwardRequest, picker: BackendPicker): Endpoint | undefined {
  const { member, attempted, pinned } = request;
  if (pinned !== undefined && !(attempted?.has(pinned.address) ?? false)) return pinned;
  return picker.pick(member.backend, member.policy.loadBalance, { hashKey: request.hashKey, attempted: attempted ?? NONE_ATTEMPTED });
}

/** What both engines keep per attempt for its accounting. */
export interface AttemptAccount {
  request: ForwardRequest;
  endpoint: Endpoint;
  /** Clock value when the attempt started. */
  started: number;
  /** A 5xx head arrived: the latency sample is a failure's. */
  failed: boolean;
  onClientClose: () => void;
}

/**
 * Ends an attempt's accounting: its client-close hook, the endpoint's load (a failed
 * attempt samples as slow, see latencySample) and, when there is an outcome, health.
 */
export function endAttempt(options: ForwarderOptions, attempt: AttemptAccount, outcome: AttemptOutcome | undefined): void {
  const { request, endpoint } = attempt;
  const { policy, backend } = request.member;
  const now = options.now();
  if (request.onClientClose === attempt.onClientClose) request.onClientClose = undefined;
  const failed = attempt.failed || (outcome !== undefined && outcome !== "success");
  options.load.end(endpoint.address, latencySample(now - attempt.started, failed), policy.ewmaDecayMs, now);
  if (outcome !== undefined) options.reporter?.report(endpoint.address, backend, outcome, policy);
}

/** Records a failed attempt's endpoint and spends one retry, before the next attempt. */
export function prepareRetry(request: ForwardRequest, failedAddress: string): void {
  (request.attempted ??= new Set()).add(failedAddress);
  request.retriesLeft -= 1;
}

const NONE_ATTEMPTED: ReadonlySet<string> = new Set();

/** Whether this result may be retried: a replayable request with retries left, nothing sent yet, and retry-on allowing it. */
export function mayRetry(request: ForwardRequest, result: AttemptResult): boolean {
  return request.replayable && request.retriesLeft > 0 && !request.res.headersSent && retryAllowed(request.member.policy.retryOn, result, request.req.method);
}

/**
 * After an attempt failed with `kind` (its accounting already finished): publish it,
 * then retry on another endpoint when allowed, else end the client's response with
 * the documented error (or cut it, when the head was already sent).
 */
export function settleFailedAttempt(request: ForwardRequest, endpoint: Endpoint, kind: FailureKind, error: unknown, logger: Logger, retry: () => void): void {
  publishUpstreamAttempt({ service: request.member.backend.key, endpoint: endpoint.address, outcome: kind });
  const ref = refOf(request.member);
  if (request.res.headersSent || request.req.socket.destroyed) {
    logger.debug("upstream failed mid-response", { ref, endpoint: endpoint.address, kind, error });
    request.res.destroy();
    return;
  }
  const retrying = mayRetry(request, { failure: kind });
  logger.warn("upstream request failed", { ref, endpoint: endpoint.address, kind, error, retrying });
  if (!retrying) return sendError(request.res, FAILURE_CODES[kind]);
  publishRetry({ service: request.member.backend.key, kind });
  prepareRetry(request, endpoint.address);
  retry();
}

/** `namespace/name` of the Ingress a member came from, for logs. */
export function refOf(member: RouteMember): string {
  return `${member.source.namespace}/${member.source.name}`;
}

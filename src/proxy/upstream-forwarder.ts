// UpstreamForwarder: one request's attempts against a backend. Picks an
// endpoint, forwards with http-proxy over pooled keep-alive connections,
// enforces connect/read/send timeouts, writes the response itself (so a 5xx can
// still be retried), retries on another endpoint where turnout.dev/retry-on
// allows, and reports every attempt's outcome to load, health and metrics.
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import httpProxy from "http-proxy";
import type { AttemptOutcome } from "../health/outlier-detector.ts";
import type { EndpointLoadTracker } from "../endpoints/endpoint-load.ts";
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { AffinityPolicy, BackendPolicy, BackendRef, RouteMember } from "../routing/route-table.ts";
import type { Logger } from "../observability/logger.ts";
import { publishRetry, publishUpstreamAttempt } from "../observability/events.ts";
import type { ErrorCode } from "../errors.ts";
import { affinityId, type BackendPicker } from "./backend-picker.ts";
import { stripHopByHop } from "./forward-headers.ts";
import { failureKind, isIdempotent, retryAllowed, type AttemptResult, type FailureKind } from "./retry-policy.ts";
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
  attempted: Set<string>;
  retriesLeft: number;
  /** False when a body may have been streamed upstream. */
  replayable: boolean;
  /** Time to the response head of the latest attempt, in seconds. */
  upstreamSeconds?: number;
}

/** The attempt in progress for a request, found again from http-proxy's callbacks. */
interface Attempt {
  request: ForwardRequest;
  endpoint: Endpoint;
  started: number;
  setCookie: string | undefined;
  reusedSocket: boolean;
  done: boolean;
  onClientClose: () => void;
}

const FAILURE_CODES: Record<FailureKind, ErrorCode> = {
  connect: "TURNOUT_ERR_UPSTREAM_CONNECT",
  reset: "TURNOUT_ERR_UPSTREAM_RESET",
  timeout: "TURNOUT_ERR_UPSTREAM_TIMEOUT",
  protocol: "TURNOUT_ERR_UPSTREAM_PROTOCOL",
};

const OUTCOMES: Record<FailureKind, AttemptOutcome> = { connect: "connect-failure", reset: "reset", timeout: "timeout", protocol: "reset" };

function codedError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

export interface UpstreamForwarderOptions {
  picker: BackendPicker;
  load: EndpointLoadTracker;
  reporter?: AttemptReporter;
  logger: Logger;
  now: () => number;
}

export class UpstreamForwarder {
  readonly #o: UpstreamForwarderOptions;
  readonly #agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo", timeout: 60_000 });
  readonly #proxy: httpProxy;
  readonly #attempts = new WeakMap<IncomingMessage, Attempt>();

  constructor(options: UpstreamForwarderOptions) {
    this.#o = options;
    this.#proxy = httpProxy.createProxyServer({ xfwd: false, ws: true, agent: this.#agent, prependPath: false, selfHandleResponse: true });
    this.#proxy.on("proxyReq", (proxyReq, req) => this.#onProxyReq(proxyReq, req));
    this.#proxy.on("proxyRes", (proxyRes, req, res) => this.#onProxyRes(proxyRes, req, res));
    // Errors on the upgrade path (no callback there) land here.
    this.#proxy.on("error", (error, _req, target) => {
      if (target instanceof http.ServerResponse) sendError(target, "TURNOUT_ERR_UPSTREAM_CONNECT");
      else target.destroy();
      this.#o.logger.debug("websocket proxy error", { error });
    });
  }

  /** Starts (or, on retry, continues) forwarding a request. */
  forward(request: ForwardRequest): void {
    const { member } = request;
    const pinned = request.pinned && !request.attempted.has(request.pinned.address) ? request.pinned : undefined;
    const endpoint = pinned ?? this.#o.picker.pick(member.backend, member.policy.loadBalance, { hashKey: request.hashKey, attempted: request.attempted });
    if (!endpoint) return sendError(request.res, "TURNOUT_ERR_NO_ENDPOINTS");
    request.attempted.add(endpoint.address);
    const affinity = member.policy.affinity;
    const attempt: Attempt = {
      request,
      endpoint,
      started: this.#o.now(),
      // A new or changed pick under sticky sessions (re)sets the cookie.
      setCookie: affinity && !pinned ? affinityCookie(affinity, endpoint.address, request.secure) : undefined,
      reusedSocket: false,
      done: false,
      onClientClose: () => this.#finish(attempt, undefined),
    };
    this.#attempts.set(request.req, attempt);
    this.#o.load.begin(endpoint.address);
    request.res.once("close", attempt.onClientClose);
    this.#proxy.web(request.req, request.res, { target: { host: endpoint.ip, port: endpoint.port } }, (error: NodeJS.ErrnoException) =>
      this.#onError(attempt, error),
    );
  }

  /** Proxies a WebSocket (or other) upgrade to one endpoint. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, endpoint: Endpoint): void {
    this.#proxy.ws(req, socket, head, { target: { host: endpoint.ip, port: endpoint.port } });
  }

  close(): void {
    this.#proxy.close();
    this.#agent.destroy();
  }

  /** Ends an attempt's accounting once: load, health report, metrics. */
  #finish(attempt: Attempt, outcome: AttemptOutcome | undefined): void {
    if (attempt.done) return;
    attempt.done = true;
    const { request, endpoint } = attempt;
    const now = this.#o.now();
    request.res.off("close", attempt.onClientClose);
    this.#o.load.end(endpoint.address, now - attempt.started, request.member.policy.ewmaDecayMs, now);
    if (outcome !== undefined) this.#o.reporter?.report(endpoint.address, request.member.backend, outcome, request.member.policy);
  }

  #onProxyReq(proxyReq: http.ClientRequest, req: IncomingMessage): void {
    const attempt = this.#attempts.get(req);
    if (!attempt) return;
    attempt.reusedSocket = proxyReq.reusedSocket;
    const policy = attempt.request.member.policy;
    proxyReq.setTimeout(policy.readTimeoutMs, () => proxyReq.destroy(codedError("TURNOUT_READ_TIMEOUT", "upstream read timeout")));
    const socket = proxyReq.socket;
    if (socket?.connecting) {
      const timer = setTimeout(() => proxyReq.destroy(codedError("TURNOUT_CONNECT_TIMEOUT", "upstream connect timeout")), policy.connectTimeoutMs);
      socket.once("connect", () => clearTimeout(timer));
      socket.once("close", () => clearTimeout(timer));
    }
    if (policy.sendTimeoutMs !== undefined && !attempt.request.replayable) {
      // The client must finish sending its body upstream within the send timeout.
      const timer = setTimeout(() => proxyReq.destroy(codedError("TURNOUT_SEND_TIMEOUT", "upstream send timeout")), policy.sendTimeoutMs);
      proxyReq.once("finish", () => clearTimeout(timer));
      proxyReq.once("close", () => clearTimeout(timer));
    }
  }

  #onProxyRes(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void {
    const attempt = this.#attempts.get(req);
    const status = proxyRes.statusCode ?? 502;
    if (attempt) {
      const { request } = attempt;
      request.upstreamSeconds = (this.#o.now() - attempt.started) / 1000;
      if (status >= 500 && this.#mayRetry(request, { status })) {
        this.#finish(attempt, "5xx");
        publishRetry({ service: request.member.backend.key, kind: "5xx" });
        this.#o.logger.warn("upstream answered with a server error; retrying", { ref: refOf(request.member), endpoint: attempt.endpoint.address, status });
        proxyRes.resume();
        request.retriesLeft -= 1;
        this.forward(request);
        return;
      }
      publishUpstreamAttempt({ service: request.member.backend.key, endpoint: attempt.endpoint.address, outcome: "ok" });
      // The attempt's load ends with the response, and health counts it as soon as the head arrived.
      this.#o.reporter?.report(attempt.endpoint.address, request.member.backend, status >= 500 ? "5xx" : "success", request.member.policy);
      const finishLoad = (): void => this.#finish(attempt, undefined);
      proxyRes.once("end", finishLoad);
      proxyRes.once("close", finishLoad);
    }
    stripHopByHop(proxyRes.headers, false);
    if (attempt?.setCookie !== undefined) proxyRes.headers["set-cookie"] = [...(proxyRes.headers["set-cookie"] ?? []), attempt.setCookie];
    if (res.headersSent) {
      proxyRes.destroy();
      return;
    }
    res.writeHead(status, proxyRes.statusMessage, proxyRes.headers);
    proxyRes.on("error", () => res.destroy());
    proxyRes.on("aborted", () => res.destroy());
    proxyRes.pipe(res);
  }

  #mayRetry(request: ForwardRequest, result: AttemptResult): boolean {
    return request.replayable && request.retriesLeft > 0 && !request.res.headersSent && retryAllowed(request.member.policy.retryOn, result, request.req.method);
  }

  #onError(attempt: Attempt, error: NodeJS.ErrnoException): void {
    const { request, endpoint } = attempt;
    const { logger } = this.#o;
    // A reset on a pooled keep-alive connection is the classic keep-alive race (the
    // upstream closed it as we reused it): for a replayable idempotent request it is
    // as safe to retry as a refused connection.
    const classified = failureKind(error);
    const kind: FailureKind = classified === "reset" && attempt.reusedSocket && isIdempotent(request.req.method) ? "connect" : classified;
    this.#finish(attempt, OUTCOMES[kind]);
    publishUpstreamAttempt({ service: request.member.backend.key, endpoint: endpoint.address, outcome: kind });
    const ref = refOf(request.member);
    if (request.res.headersSent || request.req.socket.destroyed) {
      logger.debug("upstream failed mid-response", { ref, endpoint: endpoint.address, kind, error });
      request.res.destroy();
      return;
    }
    const retrying = this.#mayRetry(request, { failure: kind });
    logger.warn("upstream request failed", { ref, endpoint: endpoint.address, kind, error, retrying });
    if (!retrying) return sendError(request.res, FAILURE_CODES[kind]);
    publishRetry({ service: request.member.backend.key, kind });
    request.retriesLeft -= 1;
    this.forward(request);
  }
}

function refOf(member: RouteMember): string {
  return `${member.source.namespace}/${member.source.name}`;
}

function affinityCookie(policy: AffinityPolicy, address: string, secure: boolean): string {
  const maxAge = policy.maxAgeSeconds !== undefined ? `; Max-Age=${policy.maxAgeSeconds}` : "";
  return `${policy.cookieName}=${affinityId(address)}; Path=/; HttpOnly${secure ? "; Secure" : ""}${maxAge}`;
}

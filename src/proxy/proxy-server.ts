// ProxyServer: the request path. Reads the published route table once per
// request, matches a route member, picks an endpoint, forwards with http-proxy
// over keep-alive connections, retries connection failures on another endpoint,
// and maps failures to the documented error responses.
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import httpProxy from "http-proxy";
import type { EndpointLoadTracker } from "../endpoints/endpoint-load.ts";
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { RouteTableHolder } from "../routing/published-table.ts";
import type { AffinityPolicy, RouteMember } from "../routing/route-table.ts";
import type { RouteRequest } from "../routing/request.ts";
import { matchRoute, routeRequestFromHttp } from "../routing/index.ts";
import type { Logger } from "../observability/logger.ts";
import { ERRORS, errorBody, type ErrorCode } from "../errors.ts";
import { affinityId, type BackendPicker } from "./backend-picker.ts";
import { clientAddress, setForwardedHeaders, stripHopByHop } from "./forward-headers.ts";
import { firstValue, hashKeyOf } from "./hash-key.ts";

export interface ListenerInfo {
  proto: "http" | "https";
  port: number;
}

export interface ProxyServerOptions {
  holder: RouteTableHolder;
  picker: BackendPicker;
  load: EndpointLoadTracker;
  logger: Logger;
  random?: () => number;
  now?: () => number;
}

/** Why an upstream attempt failed, as far as retries and status codes care. */
type FailureKind = "connect" | "reset" | "timeout" | "protocol";

const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "TURNOUT_CONNECT_TIMEOUT"]);

function failureKind(error: NodeJS.ErrnoException): FailureKind {
  if (error.code !== undefined && CONNECT_ERRORS.has(error.code)) return "connect";
  if (error.code === "TURNOUT_READ_TIMEOUT" || error.code === "ETIMEDOUT") return "timeout";
  if (error.code?.startsWith("HPE_")) return "protocol";
  return "reset";
}

const FAILURE_CODES: Record<FailureKind, ErrorCode> = {
  connect: "TURNOUT_ERR_UPSTREAM_CONNECT",
  reset: "TURNOUT_ERR_UPSTREAM_RESET",
  timeout: "TURNOUT_ERR_UPSTREAM_TIMEOUT",
  protocol: "TURNOUT_ERR_UPSTREAM_PROTOCOL",
};

function codedError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** A request whose body is empty can be replayed to another endpoint. */
function hasNoBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] === undefined && (length === undefined || length === "0");
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function sendError(res: ServerResponse, code: ErrorCode): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code);
  res.writeHead(ERRORS[code].status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-turnout-error": code,
  });
  res.end(body);
}

export class ProxyServer {
  readonly #o: ProxyServerOptions;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo", timeout: 60_000 });
  readonly #proxy: httpProxy;
  readonly #servers = new Set<http.Server>();

  constructor(options: ProxyServerOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => performance.now());
    this.#proxy = httpProxy.createProxyServer({ xfwd: false, ws: true, agent: this.#agent, prependPath: false });
    this.#proxy.on("proxyReq", (proxyReq, req) => this.#onProxyReq(proxyReq, req));
    this.#proxy.on("proxyRes", (proxyRes, req, res) => {
      stripHopByHop(proxyRes.headers, false);
      proxyRes.headers.connection = res.shouldKeepAlive ? "keep-alive" : "close";
      const cookie = upstreamContext.get(req)?.setCookie;
      if (cookie !== undefined) proxyRes.headers["set-cookie"] = [...(proxyRes.headers["set-cookie"] ?? []), cookie];
    });
    // Errors on the upgrade path (no callback there) land here.
    this.#proxy.on("error", (error, _req, target) => {
      if (target instanceof http.ServerResponse) sendError(target, "TURNOUT_ERR_UPSTREAM_CONNECT");
      else target.destroy();
      this.#o.logger.debug("websocket proxy error", { error });
    });
  }

  /** An HTTP server whose requests go through this proxy; the caller listens. */
  createServer(listener: ListenerInfo): http.Server {
    const server = http.createServer({
      // Slowloris guard: the whole request head must arrive within this time.
      headersTimeout: 20_000,
      requestTimeout: 0,
      keepAliveTimeout: 65_000,
    });
    this.attach(server, listener);
    return server;
  }

  /** Wires request, upgrade and client-error handling onto a (HTTP or HTTPS) server. */
  attach(server: http.Server, listener: ListenerInfo): void {
    this.#servers.add(server);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res, listener));
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#handleUpgrade(req, socket, head, listener));
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => rejectMalformed(error, socket));
  }

  close(): void {
    this.#proxy.close();
    this.#agent.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse, listener: ListenerInfo): void {
    const published = this.#o.holder.current;
    if (!published) return sendError(res, "TURNOUT_ERR_NOT_READY");
    const routeRequest = routeRequestFromHttp({ host: req.headers.host, url: req.url ?? "/", headers: req.headers });
    const match = matchRoute(published.table, routeRequest, this.#random);
    if (!match) return sendError(res, "TURNOUT_ERR_NO_ROUTE");
    const clientIp = clientAddress(req.socket.remoteAddress);
    stripHopByHop(req.headers, false);
    setForwardedHeaders(req.headers, { clientIp, proto: listener.proto, port: listener.port });
    const member = match.member;
    const affinity = member.policy.affinity;
    const cookieId = affinity ? firstValue(routeRequest.cookie(affinity.cookieName)) : undefined;
    const attempt: Attempt = {
      req,
      res,
      member,
      pinned: cookieId !== undefined ? this.#o.picker.endpointByAffinityId(member.backend, member.policy.loadBalance, cookieId) : undefined,
      proto: listener.proto,
      hashKey: hashKeyOf(match.member.policy.hashBy, routeRequest, clientIp, req.url ?? "/"),
      attempted: new Set(),
      retriesLeft: match.member.policy.retries,
      replayable: hasNoBody(req),
    };
    this.#forward(attempt);
  }

  #forward(a: Attempt): void {
    const { member } = a;
    const pinned = a.pinned && !a.attempted.has(a.pinned.address) ? a.pinned : undefined;
    const endpoint = pinned ?? this.#o.picker.pick(member.backend, member.policy.loadBalance, { hashKey: a.hashKey, attempted: a.attempted });
    if (!endpoint) return sendError(a.res, "TURNOUT_ERR_NO_ENDPOINTS");
    const affinity = member.policy.affinity;
    // A new or changed pick under sticky sessions (re)sets the cookie.
    const setCookie = affinity && !pinned ? affinityCookie(affinity, endpoint.address, a.proto === "https") : undefined;
    a.attempted.add(endpoint.address);
    const { load } = this.#o;
    const started = this.#now();
    load.begin(endpoint.address);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      load.end(endpoint.address, this.#now() - started, member.policy.ewmaDecayMs, this.#now());
    };
    a.res.once("close", finish);
    upstreamContext.set(a.req, { connectMs: member.policy.connectTimeoutMs, readMs: member.policy.readTimeoutMs, setCookie });
    this.#proxy.web(a.req, a.res, { target: { host: endpoint.ip, port: endpoint.port } }, (error: NodeJS.ErrnoException) => {
      a.res.off("close", finish);
      finish();
      this.#onUpstreamError(a, endpoint, error);
    });
  }

  #onUpstreamError(a: Attempt, endpoint: Endpoint, error: NodeJS.ErrnoException): void {
    const context = upstreamContext.get(a.req);
    // A reset on a pooled keep-alive connection before any response byte is the
    // classic keep-alive race (the upstream closed it as we reused it): for a
    // replayable idempotent request it is as safe to retry as a refused connection.
    const kind = failureKind(error) === "reset" && context?.reusedSocket === true && IDEMPOTENT.has(a.req.method ?? "GET") ? "connect" : failureKind(error);
    const { logger } = this.#o;
    const ref = `${a.member.source.namespace}/${a.member.source.name}`;
    if (a.res.headersSent || a.req.socket.destroyed) {
      logger.debug("upstream failed mid-response", { ref, endpoint: endpoint.address, kind, error });
      a.res.destroy();
      return;
    }
    const retryable =
      a.replayable &&
      a.retriesLeft > 0 &&
      retryAllowed(a.member, kind, a.req.method ?? "GET");
    logger.warn("upstream request failed", { ref, endpoint: endpoint.address, kind, error, retrying: retryable });
    if (retryable) {
      a.retriesLeft -= 1;
      this.#forward(a);
      return;
    }
    sendError(a.res, FAILURE_CODES[kind]);
  }

  #onProxyReq(proxyReq: http.ClientRequest, req: IncomingMessage): void {
    const timeouts = upstreamContext.get(req);
    if (!timeouts) return;
    timeouts.reusedSocket = proxyReq.reusedSocket;
    proxyReq.setTimeout(timeouts.readMs, () => proxyReq.destroy(codedError("TURNOUT_READ_TIMEOUT", "upstream read timeout")));
    const socket = proxyReq.socket;
    if (socket?.connecting) {
      const timer = setTimeout(() => proxyReq.destroy(codedError("TURNOUT_CONNECT_TIMEOUT", "upstream connect timeout")), timeouts.connectMs);
      socket.once("connect", () => clearTimeout(timer));
      socket.once("close", () => clearTimeout(timer));
    }
  }

  #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo): void {
    const published = this.#o.holder.current;
    const routeRequest: RouteRequest = routeRequestFromHttp({ host: req.headers.host, url: req.url ?? "/", headers: req.headers });
    const match = published ? matchRoute(published.table, routeRequest, this.#random) : undefined;
    const clientIp = clientAddress(req.socket.remoteAddress);
    const endpoint = match
      ? this.#o.picker.pick(match.member.backend, match.member.policy.loadBalance, { hashKey: hashKeyOf(match.member.policy.hashBy, routeRequest, clientIp, req.url ?? "/") })
      : undefined;
    if (!match || !endpoint) {
      const code: ErrorCode = !published ? "TURNOUT_ERR_NOT_READY" : !match ? "TURNOUT_ERR_NO_ROUTE" : "TURNOUT_ERR_NO_ENDPOINTS";
      const body = errorBody(code);
      socket.end(`HTTP/1.1 ${ERRORS[code].status} ${http.STATUS_CODES[ERRORS[code].status]}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\nx-turnout-error: ${code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    stripHopByHop(req.headers, true);
    setForwardedHeaders(req.headers, { clientIp, proto: listener.proto, port: listener.port });
    this.#proxy.ws(req, socket, head, { target: { host: endpoint.ip, port: endpoint.port } });
  }
}

interface Attempt {
  req: IncomingMessage;
  res: ServerResponse;
  member: RouteMember;
  /** The endpoint a valid sticky-session cookie names. */
  pinned: Endpoint | undefined;
  proto: "http" | "https";
  hashKey: string | undefined;
  attempted: Set<string>;
  retriesLeft: number;
  /** False once a body may have been streamed upstream. */
  replayable: boolean;
}

/** What the current upstream attempt of a request needs when http-proxy calls back. */
const upstreamContext = new WeakMap<IncomingMessage, { connectMs: number; readMs: number; setCookie: string | undefined; reusedSocket?: boolean }>();

function affinityCookie(policy: AffinityPolicy, address: string, secure: boolean): string {
  const maxAge = policy.maxAgeSeconds !== undefined ? `; Max-Age=${policy.maxAgeSeconds}` : "";
  return `${policy.cookieName}=${affinityId(address)}; Path=/; HttpOnly${secure ? "; Secure" : ""}${maxAge}`;
}

function retryAllowed(member: RouteMember, kind: FailureKind, method: string): boolean {
  const on = member.policy.retryOn;
  // Non-idempotent requests may have had effects upstream unless the connection never opened.
  if (!IDEMPOTENT.has(method)) return kind === "connect" && on.includes("connect-failure");
  switch (kind) {
    case "connect":
      return on.includes("connect-failure") || on.includes("gateway-error");
    case "reset":
      return on.includes("reset");
    case "timeout":
      return on.includes("timeout");
    case "protocol":
      return on.includes("gateway-error");
  }
}

/** A malformed request gets a 400 on its own connection; other connections never notice. */
function rejectMalformed(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const body = errorBody("TURNOUT_ERR_BAD_REQUEST");
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\nx-turnout-error: TURNOUT_ERR_BAD_REQUEST\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

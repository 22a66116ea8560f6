// ProxyServer: the request path. Reads the published route table once per
// request, matches a route member, redirects plain HTTP for TLS hosts, applies
// sticky sessions and hashing keys, and hands the request to the forwarder.
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { EndpointLoadTracker } from "../endpoints/endpoint-load.ts";
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { RouteTableHolder } from "../routing/published-table.ts";
import type { RouteMember } from "../routing/route-table.ts";
import { matchRoute, routeRequestFromHttp } from "../routing/index.ts";
import type { HttpRequestParts, RouteMatch, RouteRequest } from "../routing/index.ts";
import { HTTPS_REDIRECT_STATUS, httpsRedirectLocation } from "../tls/https-redirect.ts";
import type { Logger } from "../observability/logger.ts";
import { channels, publishConnection, publishRequestEnd } from "../observability/events.ts";
import type { BackendPicker } from "./backend-picker.ts";
import { clientAddress, setForwardedHeaders, stripHopByHop } from "./forward-headers.ts";
import { hashKeyOf } from "./hash-key.ts";
import { endSocketWithError, endSocketWithRedirect, rejectMalformed, sendError, sendRedirect } from "./responses.ts";
import { addressedPort, hostHeader, requestTarget, withHost } from "./request-target.ts";
import { LISTENER_OPTIONS } from "./listener-options.ts";
import { isReplayable } from "./retry-policy.ts";
import { DEFAULT_FORWARD_ENGINE, FAILURE_OUTCOMES } from "./forwarder.ts";
import { tunnelUpgrade } from "./upgrade-tunnel.ts";
import { pinnedEndpointId, stickyMember } from "./affinity.ts";
import type { AttemptReporter, ForwardEngine, ForwardRequest, Forwarder, ForwarderOptions } from "./forwarder.ts";
import { HttpProxyForwarder } from "./http-proxy-forwarder.ts";
import { UndiciForwarder } from "./undici-forwarder.ts";

export { sendError } from "./responses.ts";

export interface ListenerInfo {
  proto: "http" | "https";
  port: number;
}

export interface ProxyServerOptions {
  holder: RouteTableHolder;
  picker: BackendPicker;
  load: EndpointLoadTracker;
  logger: Logger;
  /** Receives every upstream attempt's outcome (passive health). */
  reporter?: AttemptReporter;
  /** The port HTTPS redirects point at (the public one, 443 behind a Service). */
  httpsRedirectPort: number;
  /** The forwarding engine for plain requests (docs/design/forwarding.md); undici by default. */
  engine?: ForwardEngine;
  random?: () => number;
  now?: () => number;
}

export class ProxyServer {
  readonly #o: ProxyServerOptions;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #forwarder: Forwarder;
  #draining = false;

  constructor(options: ProxyServerOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => performance.now());
    const forwarderOptions: ForwarderOptions = {
      picker: options.picker,
      load: options.load,
      logger: options.logger,
      now: this.#now,
      ...(options.reporter ? { reporter: options.reporter } : {}),
    };
    const engine = options.engine ?? DEFAULT_FORWARD_ENGINE;
    this.#forwarder = engine === "http-proxy" ? new HttpProxyForwarder(forwarderOptions) : new UndiciForwarder(forwarderOptions);
  }

  /** An HTTP server whose requests go through this proxy; the caller listens. */
  createServer(listener: ListenerInfo): http.Server {
    const server = http.createServer(LISTENER_OPTIONS);
    this.attach(server, listener);
    return server;
  }

  /** Wires request, upgrade and client-error handling onto a (HTTP or HTTPS) server. */
  attach(server: http.Server, listener: ListenerInfo): void {
    server.on("request", (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res, listener));
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#handleUpgrade(req, socket, head, listener));
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => rejectMalformed(error, socket));
    // Without a listener node answers a bare 417 itself; ours carries the error code like every answer of turnout's.
    server.on("checkExpectation", (_req: IncomingMessage, res: ServerResponse) => sendError(res, "TURNOUT_ERR_EXPECTATION_FAILED"));
    server.on("connection", (socket: Duplex) => {
      publishConnection({ listener: listener.proto, state: "open" });
      socket.once("close", () => publishConnection({ listener: listener.proto, state: "close" }));
    });
  }

  close(): void {
    this.#forwarder.close();
  }

  /**
   * From now on every response closes its connection (Connection: close), and new
   * upgrades are refused: keep-alive clients move to another replica while the
   * requests they already sent finish.
   */
  startDraining(): void {
    this.#draining = true;
  }

  /**
   * The request's authority and addressed port, or undefined when the request must
   * get 400 (see request-target.ts). An absolute-form target is rewritten in place (url and Host), so
   * both engines and upgrades forward origin-form with the authority as Host.
   */
  #target(req: IncomingMessage, proto: ListenerInfo["proto"]): { host: string | undefined; port: string } | undefined {
    const host = hostHeader(req.rawHeaders);
    const target = host === null ? undefined : requestTarget(req.url ?? "/", host);
    const port = target === undefined ? undefined : addressedPort(target.host, proto);
    if (target === undefined || port === undefined) return undefined;
    if (target.rewritten) {
      req.url = target.url;
      req.rawHeaders = withHost(req.rawHeaders, target.host!);
      // The http-proxy engine and upgrades read node's header object, which may already be built.
      req.headers.host = target.host;
    }
    return { host: target.host, port };
  }

  #handle(req: IncomingMessage, res: ServerResponse, listener: ListenerInfo): void {
    if (this.#draining) res.shouldKeepAlive = false;
    const target = this.#target(req, listener.proto);
    if (target === undefined) return sendError(res, "TURNOUT_ERR_BAD_REQUEST");
    const published = this.#o.holder.current;
    const rawHeaders = req.rawHeaders;
    const host = target.host;
    const routeRequest = routeRequestFromHttp(new IncomingParts(req, host));
    const match = published ? matchRoute(published.table, routeRequest, this.#random) : undefined;
    const member = match ? stickyMember(match.group, match.member, routeRequest) : undefined;
    const record = channels.requestEnd.hasSubscribers ? new RequestRecord(req, res, member, this.#now) : undefined;
    if (!published) return sendError(res, "TURNOUT_ERR_NOT_READY");
    if (!match || !member) return sendError(res, "TURNOUT_ERR_NO_ROUTE");
    const policy = member.policy;
    const location = this.#httpsRedirect(listener, match, member, host, req.url);
    if (location === null) return sendError(res, "TURNOUT_ERR_BAD_REQUEST");
    if (location !== undefined) return sendRedirect(res, HTTPS_REDIRECT_STATUS, location);
    const clientIp = clientAddress(req.socket.remoteAddress);
    const request: ForwardRequest = {
      req,
      res,
      member,
      pinned: this.#pinned(member, routeRequest),
      secure: listener.proto === "https",
      hashKey: policy.hashBy ? hashKeyOf(policy.hashBy, routeRequest, clientIp, req.url ?? "/") : undefined,
      attempted: undefined,
      retriesLeft: policy.retries,
      replayable: isReplayable(rawHeaders),
      forwarded: { clientIp, proto: listener.proto, port: target.port },
      upstreamHeaders: undefined,
      onClientClose: undefined,
    };
    // One "close" listener per request tells the engine the client left, and publishes the record.
    if (record) record.forward = request;
    else res.on("close", () => request.onClientClose?.());
    this.#forwarder.forward(request);
  }

  /**
   * Where plain HTTP to a route of a TLS host is redirected (requests and upgrades
   * alike): undefined when it is not, null when the Host makes no valid location.
   */
  #httpsRedirect(listener: ListenerInfo, match: RouteMatch, member: RouteMember, host: string | undefined, url: string | undefined): string | null | undefined {
    if (listener.proto !== "http" || !member.policy.sslRedirect || match.hostRoutes?.tlsSecret === undefined) return undefined;
    return httpsRedirectLocation(host, url ?? "/", this.#o.httpsRedirectPort) ?? null;
  }

  /** The endpoint a valid sticky-session cookie names, when the member's backend has affinity. */
  #pinned(member: RouteMember, routeRequest: RouteRequest): Endpoint | undefined {
    const affinity = member.policy.affinity;
    const cookieId = affinity ? pinnedEndpointId(routeRequest.cookie(affinity.cookieName), member.backend) : undefined;
    return cookieId !== undefined ? this.#o.picker.endpointByAffinityId(member.backend, member.policy.loadBalance, cookieId) : undefined;
  }

  #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo): void {
    if (this.#draining) return endSocketWithError(socket, "TURNOUT_ERR_SHUTTING_DOWN");
    const target = this.#target(req, listener.proto);
    if (target === undefined) return endSocketWithError(socket, "TURNOUT_ERR_BAD_REQUEST");
    const published = this.#o.holder.current;
    const routeRequest = routeRequestFromHttp(new IncomingParts(req, target.host));
    const match = published ? matchRoute(published.table, routeRequest, this.#random) : undefined;
    if (!match) return endSocketWithError(socket, !published ? "TURNOUT_ERR_NOT_READY" : "TURNOUT_ERR_NO_ROUTE");
    const member = stickyMember(match.group, match.member, routeRequest);
    const policy = member.policy;
    const location = this.#httpsRedirect(listener, match, member, target.host, req.url);
    if (location === null) return endSocketWithError(socket, "TURNOUT_ERR_BAD_REQUEST");
    if (location !== undefined) return endSocketWithRedirect(socket, HTTPS_REDIRECT_STATUS, location);
    const clientIp = clientAddress(req.socket.remoteAddress);
    const endpoint =
      this.#pinned(member, routeRequest) ??
      this.#o.picker.pick(member.backend, policy.loadBalance, { hashKey: hashKeyOf(policy.hashBy, routeRequest, clientIp, req.url ?? "/") });
    if (!endpoint) return endSocketWithError(socket, "TURNOUT_ERR_NO_ENDPOINTS");
    stripHopByHop(req.headers, true);
    setForwardedHeaders(req.headers, { clientIp, proto: listener.proto, port: target.port });
    this.#tunnel(req, socket, head, endpoint, member);
  }

  /** Proxies an upgrade (the same path with either engine), counted in load and passive health like a request. */
  #tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, endpoint: Endpoint, member: RouteMember): void {
    const { load, reporter, logger } = this.#o;
    const { policy, backend } = member;
    const address = endpoint.address;
    load.begin(address);
    tunnelUpgrade(req, socket, head, endpoint, policy, logger, {
      answered: (status) => reporter?.report(address, backend, status >= 500 ? "5xx" : "success", policy),
      failed: (kind) => reporter?.report(address, backend, FAILURE_OUTCOMES[kind], policy),
      // No latency sample: a tunnel's lifetime says nothing about the endpoint's speed.
      closed: () => load.end(address, Number.NaN, policy.ewmaDecayMs, this.#now()),
    });
  }
}

/** Per client connection: byte counters when its previous request ended. */
const socketPositions = new WeakMap<object, { read: number; written: number }>();

/** HttpRequestParts over a node request: node's distinct-header object is built only if a route condition asks for it. */
class IncomingParts implements HttpRequestParts {
  readonly host: string | undefined;
  readonly url: string;
  readonly #req: IncomingMessage;

  constructor(req: IncomingMessage, host: string | undefined) {
    this.#req = req;
    this.host = host;
    this.url = req.url ?? "/";
  }

  get headers(): HttpRequestParts["headers"] {
    return this.#req.headersDistinct;
  }
}

/**
 * One request's outcome, published when its response closes (only made when request-end
 * metrics listen). Its "close" listener is also the one that tells the engine the client left.
 */
class RequestRecord {
  readonly #req: IncomingMessage;
  /** Captured now: node detaches it from the request once the response is done. */
  readonly #socket: IncomingMessage["socket"];
  readonly #res: ServerResponse;
  readonly #member: RouteMember | undefined;
  readonly #now: () => number;
  readonly #started: number;
  /** The forwarding state: the engine's client-close hook and the upstream time. */
  forward: ForwardRequest | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, member: RouteMember | undefined, now: () => number) {
    this.#req = req;
    this.#socket = req.socket;
    this.#res = res;
    this.#member = member;
    this.#now = now;
    this.#started = now();
    // "close" is emitted once, so `on` spares the wrapper `once` would allocate.
    res.on("close", this.#onClose);
  }

  readonly #onClose = (): void => {
    this.forward?.onClientClose?.();
    const socket = this.#socket;
    // Bytes since the previous request on this connection ended: head and body both.
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    let position = socketPositions.get(socket);
    if (position === undefined) {
      position = { read: 0, written: 0 };
      socketPositions.set(socket, position);
    }
    const member = this.#member;
    publishRequestEnd({
      namespace: member?.source.namespace ?? "",
      ingress: member?.source.name ?? "",
      service: member?.backend.key ?? "",
      method: this.#req.method ?? "",
      code: this.#res.statusCode,
      durationSeconds: (this.#now() - this.#started) / 1000,
      // Always present (undefined when no backend answered): one object shape, no spread.
      upstreamSeconds: this.forward?.upstreamSeconds,
      bytesIn: read - position.read,
      bytesOut: written - position.written,
    });
    position.read = read;
    position.written = written;
  };
}

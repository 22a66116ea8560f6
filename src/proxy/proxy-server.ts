// ProxyServer: the request path. Reads the published route table once per
// request, matches a route member, redirects plain HTTP for TLS hosts, applies
// sticky sessions and hashing keys, and hands the request to the forwarder.
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { EndpointLoadTracker } from "../endpoints/endpoint-load.ts";
import type { RouteTableHolder } from "../routing/published-table.ts";
import type { RouteMember } from "../routing/route-table.ts";
import { matchRoute, routeRequestFromHttp } from "../routing/index.ts";
import type { HttpRequestParts, RouteMatch, RouteRequest } from "../routing/index.ts";
import { HTTPS_REDIRECT_STATUS, httpsRedirectLocation } from "../tls/https-redirect.ts";
import type { Logger } from "../observability/logger.ts";
import { channels, publishConnection, publishRequestEnd } from "../observability/events.ts";
import type { ErrorCode } from "../errors.ts";
import type { BackendPicker } from "./backend-picker.ts";
import { clientAddress, rawHeaderValue, setForwardedHeaders, stripHopByHop } from "./forward-headers.ts";
import { firstValue, hashKeyOf } from "./hash-key.ts";
import { endSocketWithError, rejectMalformed, sendError, sendRedirect } from "./responses.ts";
import { LISTENER_OPTIONS } from "./listener-options.ts";
import { isReplayable } from "./retry-policy.ts";
import { DEFAULT_FORWARD_ENGINE } from "./forwarder.ts";
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
    server.on("connection", (socket: Duplex) => {
      publishConnection({ listener: listener.proto, state: "open" });
      socket.once("close", () => publishConnection({ listener: listener.proto, state: "close" }));
    });
  }

  close(): void {
    this.#forwarder.close();
  }

  #match(req: IncomingMessage, host: string | undefined): { match: RouteMatch | undefined; routeRequest: RouteRequest; ready: boolean } {
    const published = this.#o.holder.current;
    const routeRequest = routeRequestFromHttp(new IncomingParts(req, host));
    return { routeRequest, ready: published !== undefined, match: published ? matchRoute(published.table, routeRequest, this.#random) : undefined };
  }

  #handle(req: IncomingMessage, res: ServerResponse, listener: ListenerInfo): void {
    const published = this.#o.holder.current;
    const rawHeaders = req.rawHeaders;
    const host = rawHeaderValue(rawHeaders, "host");
    const routeRequest = routeRequestFromHttp(new IncomingParts(req, host));
    const match = published ? matchRoute(published.table, routeRequest, this.#random) : undefined;
    const record = channels.requestEnd.hasSubscribers ? new RequestRecord(req, res, match?.member, this.#now) : undefined;
    if (!published) return sendError(res, "TURNOUT_ERR_NOT_READY");
    if (!match) return sendError(res, "TURNOUT_ERR_NO_ROUTE");
    const member = match.member;
    const policy = member.policy;
    if (listener.proto === "http" && policy.sslRedirect && match.hostRoutes?.tlsSecret !== undefined) {
      const location = httpsRedirectLocation(host, req.url ?? "/", this.#o.httpsRedirectPort);
      if (location === undefined) return sendError(res, "TURNOUT_ERR_BAD_REQUEST");
      return sendRedirect(res, HTTPS_REDIRECT_STATUS, location);
    }
    const clientIp = clientAddress(req.socket.remoteAddress);
    const affinity = policy.affinity;
    const cookieId = affinity ? firstValue(routeRequest.cookie(affinity.cookieName)) : undefined;
    const request: ForwardRequest = {
      req,
      res,
      member,
      pinned: cookieId !== undefined ? this.#o.picker.endpointByAffinityId(member.backend, policy.loadBalance, cookieId) : undefined,
      secure: listener.proto === "https",
      hashKey: policy.hashBy ? hashKeyOf(policy.hashBy, routeRequest, clientIp, req.url ?? "/") : undefined,
      attempted: undefined,
      retriesLeft: policy.retries,
      replayable: isReplayable(rawHeaders),
      forwarded: { clientIp, proto: listener.proto, port: listener.port },
      upstreamHeaders: undefined,
      onClientClose: undefined,
    };
    // One "close" listener per request tells the engine the client left, and publishes the record.
    if (record) record.forward = request;
    else res.on("close", () => request.onClientClose?.());
    this.#forwarder.forward(request);
  }

  #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo): void {
    const { match, routeRequest, ready } = this.#match(req, req.headers.host);
    const clientIp = clientAddress(req.socket.remoteAddress);
    const policy = match?.member.policy;
    const endpoint = match && policy
      ? this.#o.picker.pick(match.member.backend, policy.loadBalance, { hashKey: hashKeyOf(policy.hashBy, routeRequest, clientIp, req.url ?? "/") })
      : undefined;
    if (!match || !endpoint) {
      const code: ErrorCode = !ready ? "TURNOUT_ERR_NOT_READY" : !match ? "TURNOUT_ERR_NO_ROUTE" : "TURNOUT_ERR_NO_ENDPOINTS";
      return endSocketWithError(socket, code);
    }
    stripHopByHop(req.headers, true);
    setForwardedHeaders(req.headers, { clientIp, proto: listener.proto, port: listener.port });
    this.#forwarder.upgrade(req, socket, head, endpoint, match.member.policy.connectTimeoutMs);
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

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
import type { RouteMatch, RouteRequest } from "../routing/index.ts";
import { HTTPS_REDIRECT_STATUS, httpsRedirectLocation } from "../tls/https-redirect.ts";
import type { Logger } from "../observability/logger.ts";
import { channels, publishConnection, publishRequestEnd } from "../observability/events.ts";
import type { ErrorCode } from "../errors.ts";
import type { BackendPicker } from "./backend-picker.ts";
import { clientAddress, setForwardedHeaders, stripHopByHop } from "./forward-headers.ts";
import { firstValue, hashKeyOf } from "./hash-key.ts";
import { endSocketWithError, rejectMalformed, sendError, sendRedirect } from "./responses.ts";
import { isReplayable } from "./retry-policy.ts";
import { UpstreamForwarder } from "./upstream-forwarder.ts";
import type { AttemptReporter, ForwardRequest } from "./upstream-forwarder.ts";

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
  random?: () => number;
  now?: () => number;
}

export class ProxyServer {
  readonly #o: ProxyServerOptions;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #forwarder: UpstreamForwarder;
  /** Per request: the forwarding state, for the request-end metrics. */
  readonly #requests = new WeakMap<IncomingMessage, ForwardRequest>();

  constructor(options: ProxyServerOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => performance.now());
    this.#forwarder = new UpstreamForwarder({
      picker: options.picker,
      load: options.load,
      logger: options.logger,
      now: this.#now,
      ...(options.reporter ? { reporter: options.reporter } : {}),
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

  #match(req: IncomingMessage): { match: RouteMatch | undefined; routeRequest: RouteRequest; ready: boolean } {
    const published = this.#o.holder.current;
    const routeRequest = routeRequestFromHttp({ host: req.headers.host, url: req.url ?? "/", headers: req.headersDistinct });
    return { routeRequest, ready: published !== undefined, match: published ? matchRoute(published.table, routeRequest, this.#random) : undefined };
  }

  #handle(req: IncomingMessage, res: ServerResponse, listener: ListenerInfo): void {
    const { match, routeRequest, ready } = this.#match(req);
    if (channels.requestEnd.hasSubscribers) this.#recordRequest(req, res, match?.member);
    if (!ready) return sendError(res, "TURNOUT_ERR_NOT_READY");
    if (!match) return sendError(res, "TURNOUT_ERR_NO_ROUTE");
    const member = match.member;
    if (listener.proto === "http" && match.hostRoutes?.tlsSecret !== undefined && member.policy.sslRedirect) {
      const location = httpsRedirectLocation(req.headers.host, req.url ?? "/", this.#o.httpsRedirectPort);
      if (location === undefined) return sendError(res, "TURNOUT_ERR_BAD_REQUEST");
      return sendRedirect(res, HTTPS_REDIRECT_STATUS, location);
    }
    const clientIp = clientAddress(req.socket.remoteAddress);
    stripHopByHop(req.headers, false);
    setForwardedHeaders(req.headers, { clientIp, proto: listener.proto, port: listener.port });
    const affinity = member.policy.affinity;
    const cookieId = affinity ? firstValue(routeRequest.cookie(affinity.cookieName)) : undefined;
    const request: ForwardRequest = {
      req,
      res,
      member,
      pinned: cookieId !== undefined ? this.#o.picker.endpointByAffinityId(member.backend, member.policy.loadBalance, cookieId) : undefined,
      secure: listener.proto === "https",
      hashKey: hashKeyOf(member.policy.hashBy, routeRequest, clientIp, req.url ?? "/"),
      attempted: new Set(),
      retriesLeft: member.policy.retries,
      replayable: isReplayable(req),
    };
    this.#requests.set(req, request);
    this.#forwarder.forward(request);
  }

  /** Publishes the request's outcome when its response closes (only called when metrics listen). */
  #recordRequest(req: IncomingMessage, res: ServerResponse, member: RouteMember | undefined): void {
    const started = this.#now();
    const socket = req.socket;
    res.once("close", () => {
      // Bytes since the previous request on this connection ended: head and body both.
      const previous = socketPositions.get(socket) ?? { read: 0, written: 0 };
      const position = { read: socket.bytesRead, written: socket.bytesWritten };
      socketPositions.set(socket, position);
      const upstreamSeconds = this.#requests.get(req)?.upstreamSeconds;
      publishRequestEnd({
        namespace: member?.source.namespace ?? "",
        ingress: member?.source.name ?? "",
        service: member?.backend.key ?? "",
        method: req.method ?? "",
        code: res.statusCode,
        durationSeconds: (this.#now() - started) / 1000,
        ...(upstreamSeconds !== undefined ? { upstreamSeconds } : {}),
        bytesIn: position.read - previous.read,
        bytesOut: position.written - previous.written,
      });
    });
  }

  #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo): void {
    const { match, routeRequest, ready } = this.#match(req);
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
    this.#forwarder.upgrade(req, socket, head, endpoint);
  }
}

/** Per client connection: byte counters when its previous request ended. */
const socketPositions = new WeakMap<object, { read: number; written: number }>();

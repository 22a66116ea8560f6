// HttpProxyForwarder: the original forwarding engine (TURNOUT_PROXY_ENGINE=http-proxy).
// One request's attempts with http-proxy over node's keep-alive http.Agent: connect/
// read/send timeouts, the response written by turnout itself (so a 5xx can still be
// retried), retries on another endpoint where turnout.dev/retry-on allows, and every
// attempt's outcome reported to load, health and metrics. Upgrades use the shared
// tunnel, as with undici. Kept for comparison and as a fallback;
// docs/design/forwarding.md says why undici is the default.
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import httpProxy from "http-proxy";
import type { AttemptOutcome } from "../health/outlier-detector.ts";
import { publishRetry, publishUpstreamAttempt } from "../observability/events.ts";
import { setForwardedHeaders, stripHopByHop } from "./forward-headers.ts";
import { FAILURE_OUTCOMES, endAttempt, mayRetry, nextEndpoint, prepareRetry, refOf, settleFailedAttempt } from "./forwarder.ts";
import type { AttemptAccount, ForwardRequest, Forwarder, ForwarderOptions } from "./forwarder.ts";
import { affinityCookie } from "./affinity.ts";
import { failureKind, isIdempotent, type FailureKind } from "./retry-policy.ts";
import { forwardableReason, isForwardableStatus, sendError } from "./responses.ts";

/** The attempt in progress for a request, found again from http-proxy's callbacks. */
interface Attempt extends AttemptAccount {
  setCookie: string | undefined;
  reusedSocket: boolean;
  done: boolean;
}

function codedError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

export class HttpProxyForwarder implements Forwarder {
  readonly #o: ForwarderOptions;
  readonly #agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo", timeout: 60_000 });
  readonly #proxy: httpProxy;
  readonly #attempts = new WeakMap<IncomingMessage, Attempt>();

  constructor(options: ForwarderOptions) {
    this.#o = options;
    this.#proxy = httpProxy.createProxyServer({ xfwd: false, ws: false, agent: this.#agent, prependPath: false, selfHandleResponse: true });
    this.#proxy.on("proxyReq", (proxyReq, req) => this.#onProxyReq(proxyReq, req));
    this.#proxy.on("proxyRes", (proxyRes, req, res) => this.#onProxyRes(proxyRes, req, res));
  }

  /** Starts (or, on retry, continues) forwarding a request. */
  forward(request: ForwardRequest): void {
    const { member, req } = request;
    if (request.attempted === undefined) {
      // First attempt: node's header object is rewritten in place, once.
      stripHopByHop(req.headers, false);
      setForwardedHeaders(req.headers, request.forwarded);
    }
    const endpoint = nextEndpoint(request, this.#o.picker);
    if (!endpoint) return sendError(request.res, "TURNOUT_ERR_NO_ENDPOINTS");
    const affinity = member.policy.affinity;
    const attempt: Attempt = {
      request,
      endpoint,
      started: this.#o.now(),
      // A new or changed pick under sticky sessions (re)sets the cookie.
      setCookie: affinity && endpoint !== request.pinned ? affinityCookie(affinity, member.backend, endpoint.address, request.secure) : undefined,
      reusedSocket: false,
      done: false,
      failed: false,
      onClientClose: () => this.#finish(attempt, undefined),
    };
    this.#attempts.set(request.req, attempt);
    this.#o.load.begin(endpoint.address);
    request.onClientClose = attempt.onClientClose;
    this.#proxy.web(request.req, request.res, { target: { host: endpoint.ip, port: endpoint.port } }, (error: NodeJS.ErrnoException) =>
      this.#onError(attempt, error),
    );
  }

  close(): void {
    this.#proxy.close();
    this.#agent.destroy();
  }

  /** Ends an attempt's accounting once: load, health report, metrics. */
  #finish(attempt: Attempt, outcome: AttemptOutcome | undefined): void {
    if (attempt.done) return;
    attempt.done = true;
    endAttempt(this.#o, attempt, outcome);
  }

  #onProxyReq(proxyReq: http.ClientRequest, req: IncomingMessage): void {
    const attempt = this.#attempts.get(req);
    if (!attempt) return;
    attempt.reusedSocket = proxyReq.reusedSocket;
    const policy = attempt.request.member.policy;
    // http-proxy joins target and request paths with a URL join that collapses "//";
    // the request target is forwarded as received (docs/routing.md).
    if (req.url !== undefined) proxyReq.path = req.url;
    // A 101 to a request that asked for no upgrade: without this listener node drops the
    // socket silently and the client waits for an answer that never comes.
    // (node has already marked the request destroyed, so this answers the client directly.)
    proxyReq.on("upgrade", (_upgraded: IncomingMessage, socket: Duplex) => {
      socket.destroy();
      this.#onError(attempt, codedError("TURNOUT_UPSTREAM_PROTOCOL", "upstream switched protocols on a request that asked for no upgrade"));
    });
    proxyReq.on("information", (info: http.InformationEvent) => {
      // 103 Early Hints is passed on; other interim responses concern this hop only.
      const { res } = attempt.request;
      if (info.statusCode === 103 && info.headers.link !== undefined && !res.headersSent) res.writeEarlyHints({ link: info.headers.link });
    });
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
    if (!isForwardableStatus(status)) {
      proxyRes.destroy();
      if (attempt) this.#onError(attempt, codedError("TURNOUT_UPSTREAM_PROTOCOL", `upstream sent status code ${status}`));
      else sendError(res, "TURNOUT_ERR_UPSTREAM_PROTOCOL");
      return;
    }
    if (attempt) {
      const { request } = attempt;
      request.upstreamSeconds = (this.#o.now() - attempt.started) / 1000;
      if (status >= 500 && mayRetry(request, { status })) {
        this.#finish(attempt, "5xx");
        publishRetry({ service: request.member.backend.key, kind: "5xx" });
        this.#o.logger.warn("upstream answered with a server error; retrying", { ref: refOf(request.member), endpoint: attempt.endpoint.address, status });
        proxyRes.resume();
        prepareRetry(request, attempt.endpoint.address);
        this.forward(request);
        return;
      }
      publishUpstreamAttempt({ service: request.member.backend.key, endpoint: attempt.endpoint.address, outcome: "ok" });
      attempt.failed = status >= 500;
      // The attempt's load ends with the response, and health counts it as soon as the head arrived.
      this.#o.reporter?.report(attempt.endpoint.address, request.member.backend, attempt.failed ? "5xx" : "success", request.member.policy);
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
    res.writeHead(status, forwardableReason(proxyRes.statusMessage), proxyRes.headers);
    proxyRes.on("error", () => res.destroy());
    proxyRes.on("aborted", () => res.destroy());
    proxyRes.pipe(res);
  }


  #onError(attempt: Attempt, error: NodeJS.ErrnoException): void {
    const { request, endpoint } = attempt;
    const { logger } = this.#o;
    // A reset on a pooled keep-alive connection is the classic keep-alive race (the
    // upstream closed it as we reused it): for a replayable idempotent request it is
    // as safe to retry as a refused connection.
    const classified = failureKind(error);
    const kind: FailureKind = classified === "reset" && attempt.reusedSocket && isIdempotent(request.req.method) ? "connect" : classified;
    this.#finish(attempt, FAILURE_OUTCOMES[kind]);
    settleFailedAttempt(request, endpoint, kind, error, logger, () => this.forward(request));
  }
}

// UndiciForwarder: the default forwarding engine. Each attempt is one undici
// dispatch on one of the endpoint's keep-alive connections with a handler that writes the
// response straight into the client's ServerResponse (no intermediate stream),
// streams request bodies upstream, enforces connect/read/send timeouts, retries on
// another endpoint where turnout.dev/retry-on allows, and reports every attempt's
// outcome to load, health and metrics.
import type { Dispatcher } from "undici";
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { AttemptOutcome } from "../health/outlier-detector.ts";
import { publishRetry, publishUpstreamAttempt } from "../observability/events.ts";
import { endToEndHeaderList, upstreamHeaderList } from "./forward-headers.ts";
import { FAILURE_OUTCOMES, endAttempt, mayRetry, nextEndpoint, prepareRetry, refOf, settleFailedAttempt } from "./forwarder.ts";
import type { AttemptAccount, ForwardRequest, Forwarder, ForwarderOptions } from "./forwarder.ts";
import { affinityCookie } from "./affinity.ts";
import { forwardableReason, isForwardableStatus, sendError } from "./responses.ts";
import { failureKind, isIdempotent } from "./retry-policy.ts";
import type { FailureKind } from "./retry-policy.ts";
import { UpstreamPools, connectionHadReadBytes } from "./upstream-pools.ts";

type Controller = Dispatcher.DispatchController;
type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Where an attempt stands; only "waiting" may still turn into a retry. */
const WAITING = 0;
const STREAMING = 1;
const DISCARDING = 2;
const DONE = 3;

/** undici refuses these requests before sending anything: the request itself is at fault. */
const INVALID_REQUEST_ERRORS = new Set(["UND_ERR_INVALID_ARG", "UND_ERR_NOT_SUPPORTED"]);

function codedError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

export class UndiciForwarder implements Forwarder {
  readonly #o: ForwarderOptions;
  readonly #pools = new UpstreamPools();

  constructor(options: ForwarderOptions) {
    this.#o = options;
    options.picker.onEndpointsRemoved((addresses) => this.#pools.forget(addresses));
  }

  forward(request: ForwardRequest): void {
    const endpoint = nextEndpoint(request, this.#o.picker);
    if (endpoint === undefined) return sendError(request.res, "TURNOUT_ERR_NO_ENDPOINTS");
    const { member, req } = request;
    const policy = member.policy;
    const affinity = policy.affinity;
    // A new or changed pick under sticky sessions (re)sets the cookie.
    const setCookie = affinity !== undefined && endpoint !== request.pinned ? affinityCookie(affinity, member.backend, endpoint.address, request.secure) : undefined;
    const attempt = new UndiciAttempt(this, request, endpoint, setCookie, this.#o.now());
    this.#o.load.begin(endpoint.address);
    // Cleared by finish().
    request.onClientClose = attempt.onClientClose;
    this.#pools.get(endpoint.address, policy.connectTimeoutMs).dispatch(
      {
        path: req.url ?? "/",
        method: req.method ?? "GET",
        headers: (request.upstreamHeaders ??= upstreamHeaderList(req.rawHeaders, request.forwarded)),
        body: request.replayable ? null : req,
        headersTimeout: policy.readTimeoutMs,
        bodyTimeout: policy.readTimeoutMs,
      },
      attempt,
    );
  }

  close(): void {
    this.#pools.close();
  }

  /** Ends an attempt's accounting: load always, health when there is an outcome. */
  finish(attempt: UndiciAttempt, outcome: AttemptOutcome | undefined): void {
    endAttempt(this.#o, attempt, outcome);
  }

  /** The response head arrived: true to stream it to the client, false when it was discarded for a retry. */
  responseHead(attempt: UndiciAttempt, status: number): boolean {
    const { request, endpoint } = attempt;
    const { member } = request;
    request.upstreamSeconds = (this.#o.now() - attempt.started) / 1000;
    if (status >= 500 && mayRetry(request, { status })) {
      this.finish(attempt, "5xx");
      publishRetry({ service: member.backend.key, kind: "5xx" });
      this.#o.logger.warn("upstream answered with a server error; retrying", { ref: refOf(member), endpoint: endpoint.address, status });
      prepareRetry(request, endpoint.address);
      this.forward(request);
      return false;
    }
    publishUpstreamAttempt({ service: member.backend.key, endpoint: endpoint.address, outcome: "ok" });
    attempt.failed = status >= 500;
    // Health counts the attempt as soon as the head arrived; its load ends with the response.
    this.#o.reporter?.report(endpoint.address, member.backend, attempt.failed ? "5xx" : "success", member.policy);
    return true;
  }

  /** The attempt failed before or while streaming the response. */
  failed(attempt: UndiciAttempt, error: NodeJS.ErrnoException, streaming: boolean): void {
    const { request, endpoint } = attempt;
    const { logger } = this.#o;
    const ref = refOf(request.member);
    if (error.code !== undefined && INVALID_REQUEST_ERRORS.has(error.code)) {
      this.finish(attempt, undefined);
      logger.debug("request refused by the upstream client", { ref, error });
      return sendError(request.res, "TURNOUT_ERR_BAD_REQUEST");
    }
    const classified = failureKind(error);
    if (streaming) {
      // Health already counted this attempt when its head arrived; the client connection can only be closed.
      this.finish(attempt, undefined);
      logger.debug("upstream failed mid-response", { ref, endpoint: endpoint.address, kind: classified, error });
      request.res.destroy();
      return;
    }
    // A reset on a reused keep-alive connection before any response byte is the
    // keep-alive race (the upstream closed it as we reused it): for an idempotent
    // request without body it is as safe to retry as a refused connection.
    const kind: FailureKind =
      classified === "reset" && !attempt.responseStarted && isIdempotent(request.req.method) && connectionHadReadBytes(error) ? "connect" : classified;
    this.finish(attempt, FAILURE_OUTCOMES[kind]);
    settleFailedAttempt(request, endpoint, kind, error, logger, () => this.forward(request));
  }

}

/** One attempt: the undici dispatch handler that writes the upstream's response into the client's. */
class UndiciAttempt implements Dispatcher.DispatchHandler, AttemptAccount {
  readonly forwarder: UndiciForwarder;
  readonly request: ForwardRequest;
  readonly endpoint: Endpoint;
  readonly started: number;
  readonly #setCookie: string | undefined;
  #state = WAITING;
  #controller: Controller | undefined;
  #clientGone = false;
  #sendTimer: NodeJS.Timeout | undefined;
  #resume: (() => void) | undefined;
  /** Whether any byte of this attempt's response arrived. */
  responseStarted = false;
  failed = false;

  constructor(forwarder: UndiciForwarder, request: ForwardRequest, endpoint: Endpoint, setCookie: string | undefined, started: number) {
    this.forwarder = forwarder;
    this.request = request;
    this.endpoint = endpoint;
    this.#setCookie = setCookie;
    this.started = started;
  }

  /** The client connection closed before this attempt finished: stop the upstream request. */
  readonly onClientClose = (): void => {
    if (this.#state === DONE) return;
    this.#clientGone = true;
    this.#controller?.abort(codedError("TURNOUT_CLIENT_CLOSED", "client closed the connection"));
  };

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#clientGone) {
      controller.abort(codedError("TURNOUT_CLIENT_CLOSED", "client closed the connection"));
      return;
    }
    const sendTimeoutMs = this.request.member.policy.sendTimeoutMs;
    if (sendTimeoutMs !== undefined && !this.request.replayable) {
      // The client must finish sending its body upstream within the send timeout.
      this.#sendTimer = setTimeout(() => controller.abort(codedError("TURNOUT_SEND_TIMEOUT", "upstream send timeout")), sendTimeoutMs);
    }
  }

  onRequestSent(): void {
    if (this.#sendTimer !== undefined) clearTimeout(this.#sendTimer);
  }

  onResponseStarted(): void {
    this.responseStarted = true;
  }

  onResponseStart(controller: Controller, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    if (this.#state !== WAITING) return;
    if (statusCode < 200 && statusCode >= 100) {
      // Interim responses: 103 Early Hints is passed on, the others (102) concern this hop only.
      if (statusCode === 103 && headers.link !== undefined && !this.request.res.headersSent) this.request.res.writeEarlyHints({ link: headers.link });
      return;
    }
    if (!isForwardableStatus(statusCode)) {
      controller.abort(codedError("TURNOUT_UPSTREAM_PROTOCOL", `upstream sent status code ${statusCode}`));
      return;
    }
    if (!this.forwarder.responseHead(this, statusCode)) {
      // Retried elsewhere: this body is read and dropped so the connection stays reusable.
      this.#state = DISCARDING;
      return;
    }
    this.#state = STREAMING;
    const res = this.request.res;
    if (res.headersSent || this.#clientGone) {
      controller.abort(codedError("TURNOUT_CLIENT_CLOSED", "client closed the connection"));
      return;
    }
    res.writeHead(statusCode, forwardableReason(statusMessage), endToEndHeaderList(headers, this.#setCookie));
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#state !== STREAMING) return;
    if (!this.request.res.write(chunk)) {
      // Backpressure: stop reading from the upstream until the client drains.
      controller.pause();
      this.#resume ??= () => this.#controller?.resume();
      this.request.res.once("drain", this.#resume);
    }
  }

  onResponseEnd(): void {
    if (this.#sendTimer !== undefined) clearTimeout(this.#sendTimer);
    const state = this.#state;
    this.#state = DONE;
    if (state !== STREAMING) return;
    this.forwarder.finish(this, undefined);
    this.request.res.end();
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    if (this.#sendTimer !== undefined) clearTimeout(this.#sendTimer);
    const state = this.#state;
    this.#state = DONE;
    if (state === DISCARDING || state === DONE) return;
    if (this.#clientGone) {
      this.forwarder.finish(this, undefined);
      this.request.res.destroy();
      return;
    }
    this.forwarder.failed(this, error, state === STREAMING);
  }
}

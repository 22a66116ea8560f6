// Upgrade requests (WebSocket and others): the request goes to one endpoint on a
// fresh connection; a 101 answer turns both connections into a byte tunnel, any
// other answer is passed back and the connection closed. Failures before an answer
// become the documented error response on the client socket.
import http from "node:http";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Endpoint } from "../endpoints/endpoint.ts";
import type { Logger } from "../observability/logger.ts";
import { stripHopByHop } from "./forward-headers.ts";
import { FAILURE_CODES } from "./forwarder.ts";
import { endSocketWithError } from "./responses.ts";
import { failureKind } from "./retry-policy.ts";
import type { FailureKind } from "./retry-policy.ts";

/** What the proxy learns about one upgrade attempt: load and passive health accounting. */
export interface UpgradeObserver {
  /** The upstream answered (101, or a status declining the upgrade). */
  answered(status: number): void;
  /** No answer: the attempt failed this way. */
  failed(kind: FailureKind): void;
  /** The tunnel or the declining response is over; called once, after answered or failed. */
  closed(): void;
}

export interface UpgradeTimeouts {
  connectTimeoutMs: number;
  /** The longest wait for the upstream's answer; the tunnel itself has no idle limit. */
  readTimeoutMs: number;
}

/** Status line and header block, raw header names and repeats kept as the upstream sent them. */
function responseHead(status: number, statusMessage: string, rawHeaders: readonly string[], extra = ""): string {
  let head = `HTTP/1.1 ${status} ${statusMessage}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return `${head}${extra}\r\n`;
}

/** Non-hop-by-hop headers of a parsed response as a flat raw list (framing is redone by closing the connection). */
function endToEndRawHeaders(res: IncomingMessage): string[] {
  const headers: http.IncomingHttpHeaders = { ...res.headers };
  stripHopByHop(headers, false);
  delete headers["content-length"];
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) raw.push(name, item);
  }
  return raw;
}

function codedError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

export function tunnelUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  endpoint: Endpoint,
  timeouts: UpgradeTimeouts,
  logger: Logger,
  observer: UpgradeObserver,
): void {
  const upstream = http.request({
    host: endpoint.ip,
    port: endpoint.port,
    method: req.method,
    path: req.url,
    headers: req.headers,
    agent: false,
    setHost: false,
  });
  let answered = false;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    observer.closed();
  };
  upstream.setTimeout(timeouts.readTimeoutMs, () => upstream.destroy(codedError("TURNOUT_READ_TIMEOUT", "upstream read timeout")));
  // Until the upstream answers, a client that fails or leaves cancels the upstream request.
  const onClientGone = (): void => {
    upstream.destroy();
  };
  client.on("error", onClientGone);
  client.once("close", onClientGone);
  upstream.once("socket", (socket: Socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => upstream.destroy(codedError("TURNOUT_CONNECT_TIMEOUT", "upstream connect timeout")), timeouts.connectTimeoutMs);
    socket.once("connect", () => clearTimeout(timer));
    socket.once("close", () => clearTimeout(timer));
  });
  upstream.on("upgrade", (res: IncomingMessage, upstreamSocket: Duplex, upstreamHead: Buffer) => {
    answered = true;
    observer.answered(101);
    client.off("error", onClientGone);
    client.off("close", onClientGone);
    // A tunnel may stay quiet for as long as its two ends like.
    upstream.setTimeout(0);
    (upstreamSocket as Partial<Socket>).setTimeout?.(0);
    if (client.destroyed) {
      upstreamSocket.destroy();
      close();
      return;
    }
    client.write(responseHead(101, res.statusMessage ?? "Switching Protocols", res.rawHeaders));
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (head.length > 0) upstreamSocket.write(head);
    (upstreamSocket as Socket).setNoDelay?.(true);
    (client as Partial<Socket>).setNoDelay?.(true);
    (client as Partial<Socket>).setTimeout?.(0);
    // Either side failing or closing ends both.
    const closeBoth = (): void => {
      client.destroy();
      upstreamSocket.destroy();
      close();
    };
    client.on("error", closeBoth);
    upstreamSocket.on("error", closeBoth);
    client.once("close", closeBoth);
    upstreamSocket.once("close", closeBoth);
    upstreamSocket.pipe(client);
    client.pipe(upstreamSocket);
  });
  upstream.on("response", (res: IncomingMessage) => {
    // The upstream declined the upgrade: its answer goes back as is, then the connection closes.
    answered = true;
    observer.answered(res.statusCode ?? 502);
    res.once("close", close);
    client.once("close", close);
    client.write(responseHead(res.statusCode ?? 502, res.statusMessage ?? "", endToEndRawHeaders(res), "connection: close\r\n"));
    res.on("error", () => client.destroy());
    res.pipe(client);
  });
  upstream.once("close", () => {
    // Destroyed without an error event (the client left first): nothing more will come.
    if (answered) return;
    answered = true;
    close();
  });
  upstream.on("error", (error: NodeJS.ErrnoException) => {
    client.off("error", onClientGone);
    client.off("close", onClientGone);
    if (answered) {
      client.destroy();
      return;
    }
    answered = true;
    const kind = failureKind(error);
    // A client that left first is not the upstream's failure.
    if (!client.destroyed) {
      observer.failed(kind);
      logger.warn("upgrade request failed", { endpoint: endpoint.address, kind, error });
      endSocketWithError(client, FAILURE_CODES[kind]);
    }
    close();
  });
  upstream.end();
}

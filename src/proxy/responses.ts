// Responses turnout writes itself: documented error codes, 400 for malformed
// requests, raw responses on upgrade sockets, and redirects; and which parts of an
// upstream's status line may be written on to the client.
import http from "node:http";
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ERRORS, errorBody, type ErrorCode } from "../errors.ts";

/** A final or interim status node can write and clients understand: 100-599. */
export function isForwardableStatus(status: number): boolean {
  return status >= 100 && status <= 599;
}

/** An upstream reason phrase node may write (visible ASCII, space, tab); undefined gives the standard one. */
export function forwardableReason(reason: string | undefined): string | undefined {
  return reason && /^[\t\x20-\x7e]*$/.test(reason) ? reason : undefined;
}

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

/** An error response written straight to a socket (upgrade requests, parse errors), then closed. */
export function endSocketWithError(socket: Duplex, code: ErrorCode, status: number = ERRORS[code].status): void {
  const body = errorBody(code);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `x-turnout-error: ${code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** A malformed request gets a 400 on its own connection; other connections never notice. */
export function rejectMalformed(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const inFlight = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.req.complete) {
    // The bad bytes are the in-flight request's own body (an invalid chunk, or the client
    // closed mid-upload): its response can never finish, as the upstream waits for the rest
    // of the body. Closing the connection closes the response, and the engine then aborts
    // the upstream request. A 400 goes first when no response has started.
    if (inFlight.headersSent || error.code === "HPE_INVALID_EOF_STATE") socket.destroy();
    else {
      socket.once("finish", () => socket.destroy());
      endSocketWithError(socket, "TURNOUT_ERR_BAD_REQUEST", status);
    }
    return;
  }
  // A response still on its way (the malformed request was pipelined behind it) goes first, whole.
  if (inFlight) {
    inFlight.once("finish", () => endSocketWithError(socket, "TURNOUT_ERR_BAD_REQUEST", status));
    inFlight.once("close", () => {
      if (!inFlight.writableFinished) socket.destroy();
    });
    return;
  }
  endSocketWithError(socket, "TURNOUT_ERR_BAD_REQUEST", status);
}

/** A redirect written straight to an upgrade request's socket, then closed. */
export function endSocketWithRedirect(socket: Duplex, status: number, location: string): void {
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nlocation: ${location}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

export function sendRedirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location, "content-length": 0 });
  res.end();
}

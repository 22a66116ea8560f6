// Responses turnout writes itself: documented error codes, 400 for malformed
// requests, raw responses on upgrade sockets, and redirects.
import http from "node:http";
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ERRORS, errorBody, type ErrorCode } from "../errors.ts";

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
  endSocketWithError(socket, "TURNOUT_ERR_BAD_REQUEST", status);
}

export function sendRedirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location, "content-length": 0 });
  res.end();
}

// Small HTTP helpers for the test server: bounded JSON body reading and JSON/Status replies.

import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, badRequest, failureStatus } from "./status.ts";

/** The API server's own request body limit. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the body as JSON; an empty body is undefined. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(failureStatus(413, "the request body is too large", "RequestEntityTooLarge"));
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  const contentType = (req.headers["content-type"] ?? "").toLowerCase();
  if (contentType.includes("yaml")) {
    throw new ApiError(failureStatus(415, `the body of the request was in an unknown format - accepted media types include: application/json`, "UnsupportedMediaType"));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`couldn't decode the request body as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Answers any thrown value as a Status object; unexpected errors become 500 InternalError. */
export function sendError(res: ServerResponse, error: unknown): void {
  const status = error instanceof ApiError ? error.status : failureStatus(500, error instanceof Error ? error.message : String(error));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = status.code === 429 ? { "retry-after": "1" } : {};
  sendJson(res, status.code, status, headers);
}

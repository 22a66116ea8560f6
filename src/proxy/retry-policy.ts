// Which upstream failures may be retried on another endpoint, as pure rules:
// failure classification, the turnout.dev/retry-on conditions, idempotency.
import type { IncomingMessage } from "node:http";
import type { RetryCondition } from "../routing/route-table.ts";

/** Why an upstream attempt failed, as far as retries, metrics and status codes care. */
export type FailureKind = "connect" | "reset" | "timeout" | "protocol";

const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "TURNOUT_CONNECT_TIMEOUT"]);

export function failureKind(error: NodeJS.ErrnoException): FailureKind {
  if (error.code !== undefined && CONNECT_ERRORS.has(error.code)) return "connect";
  if (error.code === "TURNOUT_READ_TIMEOUT" || error.code === "TURNOUT_SEND_TIMEOUT" || error.code === "ETIMEDOUT") return "timeout";
  if (error.code?.startsWith("HPE_")) return "protocol";
  return "reset";
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function isIdempotent(method: string | undefined): boolean {
  return IDEMPOTENT.has(method ?? "GET");
}

/** A request whose body is empty can be replayed to another endpoint; one with a body has streamed it upstream. */
export function isReplayable(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] === undefined && (length === undefined || length === "0");
}

/** What an attempt ended with: a transport failure, or a response status. */
export type AttemptResult = { failure: FailureKind } | { status: number };

/** Whether `turnout.dev/retry-on` allows retrying this result of this method. */
export function retryAllowed(retryOn: readonly RetryCondition[], result: AttemptResult, method: string | undefined): boolean {
  if ("status" in result) {
    if (!isIdempotent(method)) return false;
    if (retryOn.includes("5xx") && result.status >= 500) return true;
    return retryOn.includes("gateway-error") && (result.status === 502 || result.status === 503 || result.status === 504);
  }
  // Non-idempotent requests may have had effects upstream unless the connection never opened.
  if (!isIdempotent(method)) return result.failure === "connect" && retryOn.includes("connect-failure");
  switch (result.failure) {
    case "connect":
      return retryOn.includes("connect-failure") || retryOn.includes("gateway-error");
    case "reset":
      return retryOn.includes("reset");
    case "timeout":
      return retryOn.includes("timeout");
    case "protocol":
      return retryOn.includes("gateway-error");
  }
}

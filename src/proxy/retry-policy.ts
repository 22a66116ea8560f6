// Which upstream failures may be retried on another endpoint, as pure rules:
// failure classification, the turnout.dev/retry-on conditions, idempotency.
import type { RetryCondition } from "../routing/route-table.ts";

/** Why an upstream attempt failed, as far as retries, metrics and status codes care. */
export type FailureKind = "connect" | "reset" | "timeout" | "protocol";

/** Error codes of node sockets, undici and turnout's own timers, by what they mean for retries. */
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "TURNOUT_CONNECT_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);
const TIMEOUT_ERRORS = new Set(["TURNOUT_READ_TIMEOUT", "TURNOUT_SEND_TIMEOUT", "ETIMEDOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const PROTOCOL_ERRORS = new Set(["UND_ERR_RES_CONTENT_LENGTH_MISMATCH", "UND_ERR_HEADERS_OVERFLOW", "TURNOUT_UPSTREAM_PROTOCOL"]);

export function failureKind(error: NodeJS.ErrnoException): FailureKind {
  const code = error.code;
  // undici's parser errors often carry no code (llhttp's number is not mapped to a name).
  if (error.name === "HTTPParserError") return "protocol";
  if (code === undefined) return "reset";
  if (CONNECT_ERRORS.has(code)) return "connect";
  if (TIMEOUT_ERRORS.has(code)) return "timeout";
  if (code.startsWith("HPE_") || PROTOCOL_ERRORS.has(code)) return "protocol";
  return "reset";
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function isIdempotent(method: string | undefined): boolean {
  return IDEMPOTENT.has(method ?? "GET");
}

/**
 * A request whose body is empty can be replayed to another endpoint; one with a body
 * has streamed it upstream. Reads node's raw header list (`req.rawHeaders`).
 */
export function isReplayable(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Only two names matter: compare lengths before case-folding anything.
    if (name.length === 17 && name.toLowerCase() === "transfer-encoding") return false;
    if (name.length === 14 && name.toLowerCase() === "content-length" && rawHeaders[i + 1]!.trim() !== "0") return false;
  }
  return true;
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
  const connectFailures = retryOn.includes("connect-failure") || retryOn.includes("gateway-error");
  // Non-idempotent requests may have had effects upstream unless the connection never opened.
  if (!isIdempotent(method)) return result.failure === "connect" && connectFailures;
  switch (result.failure) {
    case "connect":
      return connectFailures;
    case "reset":
      return retryOn.includes("reset");
    case "timeout":
      return retryOn.includes("timeout");
    case "protocol":
      return retryOn.includes("gateway-error");
  }
}

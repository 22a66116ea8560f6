// Stable error codes for responses turnout itself generates, with the HTTP
// status each maps to. docs/errors.md documents the same table (a test keeps
// the two in step).

export const ERRORS = {
  TURNOUT_ERR_NO_ROUTE: { status: 404, message: "no route matches this host and path" },
  TURNOUT_ERR_NO_ENDPOINTS: { status: 503, message: "the backend has no ready endpoints" },
  TURNOUT_ERR_UPSTREAM_CONNECT: { status: 502, message: "could not connect to the backend" },
  TURNOUT_ERR_UPSTREAM_RESET: { status: 502, message: "the backend closed the connection" },
  TURNOUT_ERR_UPSTREAM_TIMEOUT: { status: 504, message: "the backend did not answer in time" },
  TURNOUT_ERR_UPSTREAM_PROTOCOL: { status: 502, message: "the backend sent an invalid response" },
  TURNOUT_ERR_BAD_REQUEST: { status: 400, message: "malformed HTTP request" },
  TURNOUT_ERR_EXPECTATION_FAILED: { status: 417, message: "the Expect header asks for something other than 100-continue" },
  TURNOUT_ERR_NOT_READY: { status: 503, message: "turnout has not loaded its configuration yet" },
  TURNOUT_ERR_SHUTTING_DOWN: { status: 503, message: "turnout is shutting down" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The short plain-text body of an error response: code and sentence, one line. */
export function errorBody(code: ErrorCode): string {
  return `${code}: ${ERRORS[code].message}\n`;
}

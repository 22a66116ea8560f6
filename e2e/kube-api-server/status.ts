// Kubernetes `Status` objects and the error type that carries one through the server,
// so every failure reaches the client in the shape client-node expects.

import type { ResourceType } from "./resources.ts";

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
}

export interface StatusObject {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

const REASON_BY_CODE: Readonly<Record<number, string>> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Expired",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export function reasonForCode(code: number): string {
  return REASON_BY_CODE[code] ?? "Unknown";
}

export function failureStatus(code: number, message: string, reason = reasonForCode(code), details?: StatusDetails): StatusObject {
  const status: StatusObject = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
  if (details !== undefined) status.details = details;
  return status;
}

export function successStatus(details: StatusDetails): StatusObject {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details, code: 200 };
}

/** A request failure; the server answers with `status` and its code. */
export class ApiError extends Error {
  readonly status: StatusObject;
  constructor(status: StatusObject) {
    super(status.message ?? status.reason ?? "error");
    this.status = status;
  }
  get code(): number {
    return this.status.code;
  }
}

/** "ingresses.networking.k8s.io" or "services": how Kubernetes names a type in messages. */
export function qualifiedResource(type: ResourceType): string {
  return type.group === "" ? type.resource : `${type.resource}.${type.group}`;
}

function detailsFor(type: ResourceType, name: string): StatusDetails {
  return { name, group: type.group, kind: type.resource };
}

export function notFound(type: ResourceType, name: string): ApiError {
  return new ApiError(failureStatus(404, `${qualifiedResource(type)} "${name}" not found`, "NotFound", detailsFor(type, name)));
}

export function alreadyExists(type: ResourceType, name: string): ApiError {
  return new ApiError(failureStatus(409, `${qualifiedResource(type)} "${name}" already exists`, "AlreadyExists", detailsFor(type, name)));
}

export function conflict(type: ResourceType, name: string): ApiError {
  const message =
    `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": ` +
    "the object has been modified; please apply your changes to the latest version and try again";
  return new ApiError(failureStatus(409, message, "Conflict", detailsFor(type, name)));
}

export function badRequest(message: string): ApiError {
  return new ApiError(failureStatus(400, message, "BadRequest"));
}

export function invalid(type: ResourceType, name: string, message: string): ApiError {
  return new ApiError(failureStatus(422, `${type.kind} "${name}" is invalid: ${message}`, "Invalid", detailsFor(type, name)));
}

export function pathNotFound(): ApiError {
  return new ApiError(failureStatus(404, "the server could not find the requested resource", "NotFound"));
}

export function methodNotAllowed(method: string): ApiError {
  return new ApiError(failureStatus(405, `the server does not allow this method on the requested resource (${method})`, "MethodNotAllowed"));
}

/** The watch ERROR object the API server sends when a resourceVersion has been compacted away. */
export function expiredStatus(requested: number, oldest: number): StatusObject {
  return failureStatus(410, `too old resource version: ${requested} (${oldest})`, "Expired");
}

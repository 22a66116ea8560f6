// Instrumentation events: named node:diagnostics_channel channels with typed
// payloads and publish helpers that cost one property read when nobody listens.
import diagnosticsChannel from "node:diagnostics_channel";

/**
 * Why an upstream attempt failed: refused/unreachable/connect timeout, reset or
 * closed before a complete response head, read timeout, unparsable response.
 */
export type UpstreamErrorKind = "connect" | "reset" | "timeout" | "protocol";

/** One client request answered (by a backend or by turnout itself), published once when the response ends. */
export interface RequestEndEvent {
  /** The matched Ingress's namespace; "" when no route matched. */
  namespace: string;
  /** The matched Ingress's name; "" when no route matched. */
  ingress: string;
  /** The backend key (`namespace/service:port`); "" when no route matched. */
  service: string;
  /** As received; metrics normalise it to a fixed set. */
  method: string;
  /** HTTP status sent to the client. */
  code: number;
  /** From the request's arrival to the end of the response. */
  durationSeconds: number;
  /** From sending the request upstream to the response head; absent or undefined when no backend answered. */
  upstreamSeconds?: number;
  /** Bytes received from the client for this request. */
  bytesIn: number;
  /** Bytes sent to the client for this request. */
  bytesOut: number;
}

/** One attempt to get a response from one endpoint (a request with retries makes several). */
export interface UpstreamAttemptEvent {
  /** Backend key. */
  service: string;
  /** Endpoint address (`ip:port`), for logs; never a metric label. */
  endpoint: string;
  outcome: "ok" | UpstreamErrorKind;
}

/** A failed attempt is being retried on another endpoint. */
export interface RetryEvent {
  service: string;
  /** Why the previous attempt failed: a transport error, or a 5xx answer retry-on allows. */
  kind: UpstreamErrorKind | "5xx";
}

export type RebuildResult = "published" | "unchanged" | "error";

/** One route-table rebuild. Counts describe the table now served (the previous one after an error). */
export interface RebuildEvent {
  result: RebuildResult;
  durationSeconds: number;
  generation: number;
  /** Route groups in the table, default backend included. */
  routes: number;
  backends: number;
  /** Endpoints known for those backends. */
  endpoints: number;
  /** For "published": from the first object change this table includes to its publish. */
  applyLatencySeconds?: number;
}

/** An informer stopped on an error and is being restarted. */
export interface WatchRestartEvent {
  /** e.g. "ingresses", "endpointslices". */
  resource: string;
  error: string;
}

/** A proxy worker process exited without being asked to; the primary restarts it. */
export interface WorkerExitEvent {
  pid: number | undefined;
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: string | null;
}

/** A call to the Kubernetes API failed (list, watch, status update, Event, lease). */
export interface ApiErrorEvent {
  /** The resource the call concerned, e.g. "ingresses", "ingresses/status", "events". */
  resource: string;
  /** HTTP status when the API server answered one. */
  status?: number;
  message: string;
}

/** An informer listed, or its watch (re)connected, successfully. */
export interface SyncEvent {
  resource: string;
  /** Unix time in seconds. */
  timestampSeconds: number;
}

/** An endpoint changed health (active check or passive outlier detection). */
export interface EndpointHealthEvent {
  service: string;
  endpoint: string;
  healthy: boolean;
  source: "active" | "passive";
}

/** The outlier detector ejected an endpoint. */
export interface EjectionEvent {
  service: string;
  endpoint: string;
  /** How long the ejection lasts. */
  durationSeconds: number;
}

/** A backend entered panic mode: too few healthy endpoints, so load spreads over all of them. */
export interface PanicEvent {
  service: string;
  healthy: number;
  total: number;
}

/** A client connection opened or closed on a listener. */
export interface ConnectionEvent {
  listener: "http" | "https";
  state: "open" | "close";
}

/** Channel name -> payload type. */
export interface TurnoutEvents {
  "turnout:request:end": RequestEndEvent;
  "turnout:upstream:attempt": UpstreamAttemptEvent;
  "turnout:retry": RetryEvent;
  "turnout:rebuild": RebuildEvent;
  "turnout:watch:restart": WatchRestartEvent;
  "turnout:api:error": ApiErrorEvent;
  "turnout:sync": SyncEvent;
  "turnout:endpoint:health": EndpointHealthEvent;
  "turnout:ejection": EjectionEvent;
  "turnout:panic": PanicEvent;
  "turnout:connection": ConnectionEvent;
  "turnout:worker:exit": WorkerExitEvent;
}

export type TurnoutEventName = keyof TurnoutEvents;

export const EVENT_NAMES: readonly TurnoutEventName[] = [
  "turnout:request:end",
  "turnout:upstream:attempt",
  "turnout:retry",
  "turnout:rebuild",
  "turnout:watch:restart",
  "turnout:api:error",
  "turnout:sync",
  "turnout:endpoint:health",
  "turnout:ejection",
  "turnout:panic",
  "turnout:connection",
  "turnout:worker:exit",
];

/**
 * The channels themselves. A hot path may test `channels.requestEnd.hasSubscribers`
 * before it measures anything or builds a payload.
 */
export const channels = {
  requestEnd: diagnosticsChannel.channel("turnout:request:end"),
  upstreamAttempt: diagnosticsChannel.channel("turnout:upstream:attempt"),
  retry: diagnosticsChannel.channel("turnout:retry"),
  rebuild: diagnosticsChannel.channel("turnout:rebuild"),
  watchRestart: diagnosticsChannel.channel("turnout:watch:restart"),
  apiError: diagnosticsChannel.channel("turnout:api:error"),
  sync: diagnosticsChannel.channel("turnout:sync"),
  endpointHealth: diagnosticsChannel.channel("turnout:endpoint:health"),
  ejection: diagnosticsChannel.channel("turnout:ejection"),
  panic: diagnosticsChannel.channel("turnout:panic"),
  connection: diagnosticsChannel.channel("turnout:connection"),
  workerExit: diagnosticsChannel.channel("turnout:worker:exit"),
} as const;

/** A typed publish function for one channel; it does nothing while nobody listens. */
function publisher<K extends TurnoutEventName>(name: K): (event: TurnoutEvents[K]) => void {
  const channel = diagnosticsChannel.channel(name);
  return (event) => {
    if (channel.hasSubscribers) channel.publish(event);
  };
}

export const publishRequestEnd = publisher("turnout:request:end");
export const publishUpstreamAttempt = publisher("turnout:upstream:attempt");
export const publishRetry = publisher("turnout:retry");
export const publishRebuild = publisher("turnout:rebuild");
export const publishWatchRestart = publisher("turnout:watch:restart");
export const publishApiError = publisher("turnout:api:error");
export const publishSync = publisher("turnout:sync");
export const publishEndpointHealth = publisher("turnout:endpoint:health");
export const publishEjection = publisher("turnout:ejection");
export const publishPanic = publisher("turnout:panic");
export const publishConnection = publisher("turnout:connection");
export const publishWorkerExit = publisher("turnout:worker:exit");

/**
 * Subscribes a typed handler; returns the function that unsubscribes it.
 * Node reports a handler's exception as uncaught, so handlers must not throw.
 */
export function subscribe<K extends TurnoutEventName>(name: K, handler: (event: TurnoutEvents[K]) => void): () => void {
  // Only this module's typed publish helpers write to turnout:* channels.
  const listener = (message: unknown): void => handler(message as TurnoutEvents[K]);
  diagnosticsChannel.subscribe(name, listener);
  return () => {
    diagnosticsChannel.unsubscribe(name, listener);
  };
}

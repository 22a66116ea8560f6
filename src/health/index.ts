// health: active HTTP probes and passive outlier detection, both setting flags in
// the EndpointRegistry. May import endpoints/, routing/ (types) and observability/.
export type {
  ActiveHealthCheckerOptions,
  HealthTransition,
  ProbeScheduler,
  SessionInfo,
} from "./active-checker.ts";
export { ActiveHealthChecker, dedupeTargets } from "./active-checker.ts";
export type { ProbeRequest, ProbeResult } from "./http-probe.ts";
export { httpProbe, probeStatusPasses, PROBE_USER_AGENT } from "./http-probe.ts";
export type {
  AttemptOutcome,
  EjectionEvent,
  EjectionSkippedEvent,
  OutlierDetectorOptions,
  OutlierListener,
  OutlierPolicy,
} from "./outlier-detector.ts";
export {
  DEFAULT_BASE_EJECTION_MS,
  DEFAULT_MAX_EJECTED_FRACTION,
  DEFAULT_MAX_EJECTION_MS,
  ejectionDurationMs,
  maxEjected,
  OutlierDetector,
} from "./outlier-detector.ts";
export { firstProbeDelayMs, nextProbeDelayMs, PROBE_JITTER_FRACTION } from "./probe-schedule.ts";
export type { HealthCheckTarget } from "./targets.ts";
export { backendHealthChecks, compareHealthChecks, healthCheckTargets, preferTarget } from "./targets.ts";

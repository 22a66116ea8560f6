// What a running turnout process offers its entry point, whatever its role.
export type ShutdownSignal = "SIGTERM" | "SIGINT";

export interface Turnout {
  /**
   * SIGTERM: readiness fails, serving continues for --shutdown-delay, then the
   * proxy drains for up to --shutdown-grace and the process exits 0. SIGINT: the
   * same without the delay. A worker ignores both: the primary coordinates.
   */
  shutdown(signal: ShutdownSignal): void;
}

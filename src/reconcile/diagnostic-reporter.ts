// Turns translation diagnostics into log lines and Kubernetes Events, once per
// distinct problem that has lasted `settleMs`: a diagnostic that persists across
// rebuilds is not repeated; one that goes away and comes back is reported again.
import type { Diagnostic } from "../routing/route-table.ts";
import type { Logger } from "../observability/logger.ts";
import { realTimers, type Timers } from "./timers.ts";

/** Where Warning Events go in cluster mode (file mode has none). */
export interface EventSink {
  emit(diagnostic: Diagnostic): void;
}

/** The uid of the object a diagnostic is about, as it is now; undefined when unknown. */
export type ObjectUid = (ref: Diagnostic["ref"]) => string | undefined;

export interface DiagnosticReporterOptions {
  logger: Logger;
  events?: EventSink;
  /**
   * Tells a replaced object (same name, new uid: `kubectl replace --force`, a delete
   * and re-apply) from the old one, so the same problem on the new object is reported
   * again: `kubectl describe` lists only the Events of the object's own uid.
   */
  uidOf?: ObjectUid;
  /**
   * A problem is reported once it has lasted this long. Objects created or deleted
   * together reach the controller on separate watch streams in any order, so an
   * Ingress can be seen for a moment without its Service; such a gap is not a problem.
   */
  settleMs?: number;
  timers?: Timers;
}

interface ActiveDiagnostic {
  diagnostic: Diagnostic;
  since: number;
  reported: boolean;
}

export class DiagnosticReporter {
  readonly #o: Required<Omit<DiagnosticReporterOptions, "events">> & Pick<DiagnosticReporterOptions, "events">;
  #active = new Map<string, ActiveDiagnostic>();
  #timer: unknown;

  constructor(options: DiagnosticReporterOptions) {
    this.#o = { uidOf: () => undefined, settleMs: 0, timers: realTimers, ...options };
  }

  #key(d: Diagnostic): string {
    return `${d.ref.kind}\0${d.ref.namespace}\0${d.ref.name}\0${this.#o.uidOf(d.ref) ?? ""}\0${d.reason}\0${d.message}`;
  }

  /** Takes the diagnostics of the latest rebuild: every problem there is now. */
  report(diagnostics: readonly Diagnostic[]): void {
    const now = this.#o.timers.now();
    const next = new Map<string, ActiveDiagnostic>();
    for (const diagnostic of diagnostics) {
      const key = this.#key(diagnostic);
      next.set(key, this.#active.get(key) ?? next.get(key) ?? { diagnostic, since: now, reported: false });
    }
    this.#active = next;
    this.#reportSettled();
  }

  /** Writes every reported diagnostic still active as an Event again (a new leader takes over Event writing). */
  replayEvents(): void {
    for (const entry of this.#active.values()) if (entry.reported) this.#o.events?.emit(entry.diagnostic);
  }

  /** Diagnostics of the latest rebuild, settled or not, for /debug and metrics. */
  active(): Diagnostic[] {
    return [...this.#active.values()].map((entry) => entry.diagnostic);
  }

  /** Cancels the pending report (shutdown). */
  stop(): void {
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reports what has lasted `settleMs`; waits for the earliest of the rest. */
  #reportSettled(): void {
    const { timers, settleMs, logger, events } = this.#o;
    this.stop();
    const now = timers.now();
    let nextDue = Infinity;
    for (const entry of this.#active.values()) {
      if (entry.reported) continue;
      const due = entry.since + settleMs;
      if (due > now) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      entry.reported = true;
      const d = entry.diagnostic;
      const fields = { ref: `${d.ref.namespace}/${d.ref.name}`, kind: d.ref.kind, reason: d.reason };
      if (d.severity === "Warning") logger.warn(d.message, fields);
      else logger.info(d.message, fields);
      events?.emit(d);
    }
    if (nextDue !== Infinity) this.#timer = timers.setTimeout(() => this.#reportSettled(), nextDue - now);
  }
}

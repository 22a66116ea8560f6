// Turns translation diagnostics into log lines and Kubernetes Events, once per
// distinct problem: a diagnostic that persists across rebuilds is not repeated;
// one that goes away and comes back is reported again.
import type { Diagnostic } from "../routing/route-table.ts";
import type { Logger } from "../observability/logger.ts";

/** Where Warning Events go in cluster mode (file mode has none). */
export interface EventSink {
  emit(diagnostic: Diagnostic): void;
}

/** The uid of the object a diagnostic is about, as it is now; undefined when unknown. */
export type ObjectUid = (ref: Diagnostic["ref"]) => string | undefined;

export class DiagnosticReporter {
  readonly #logger: Logger;
  readonly #events: EventSink | undefined;
  readonly #uidOf: ObjectUid;
  #active = new Map<string, Diagnostic>();

  /**
   * `uidOf` tells a replaced object (same name, new uid: `kubectl replace --force`, a
   * delete and re-apply) from the old one, so the same problem on the new object is
   * reported again: `kubectl describe` lists only the Events of the object's own uid.
   */
  constructor(logger: Logger, events?: EventSink, uidOf: ObjectUid = () => undefined) {
    this.#logger = logger;
    this.#events = events;
    this.#uidOf = uidOf;
  }

  #key(d: Diagnostic): string {
    return `${d.ref.kind}\0${d.ref.namespace}\0${d.ref.name}\0${this.#uidOf(d.ref) ?? ""}\0${d.reason}\0${d.message}`;
  }

  /** Reports what is new since the last call; returns how many were new. */
  report(diagnostics: readonly Diagnostic[]): number {
    const next = new Map<string, Diagnostic>();
    let fresh = 0;
    for (const d of diagnostics) {
      const key = this.#key(d);
      next.set(key, d);
      if (this.#active.has(key)) continue;
      fresh += 1;
      const fields = { ref: `${d.ref.namespace}/${d.ref.name}`, kind: d.ref.kind, reason: d.reason };
      if (d.severity === "Warning") this.#logger.warn(d.message, fields);
      else this.#logger.info(d.message, fields);
      this.#events?.emit(d);
    }
    this.#active = next;
    return fresh;
  }

  /** Writes every active diagnostic as an Event again (a new leader takes over Event writing). */
  replayEvents(): void {
    for (const d of this.#active.values()) this.#events?.emit(d);
  }

  /** Diagnostics of the latest rebuild, for /debug and metrics. */
  active(): Diagnostic[] {
    return [...this.#active.values()];
  }
}

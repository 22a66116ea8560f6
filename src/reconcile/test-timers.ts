// Timers for tests of the reconcile stage: time moves only when the test says so.
import type { Timers } from "./timers.ts";

/** Timers driven by a test: `advance(ms)` runs what falls due, in order. */
export class ManualTimers implements Timers {
  time = 0;
  #next = 1;
  readonly #pending = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.time;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.#pending.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.#pending.delete(handle as number);
  };
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.#pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = until;
  }
}

// When to restart a crashed worker: at once-ish the first time, doubling with each
// crash in a row up to a cap; a worker that ran long enough starts the count over.

export interface RestartBackoff {
  initialMs: number;
  maxMs: number;
  /** A worker that lived at least this long crashed "for the first time" again. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_BACKOFF: Readonly<RestartBackoff> = Object.freeze({ initialMs: 100, maxMs: 10_000, stableAfterMs: 30_000 });

/** Pure. Crashes in a row, counting this one, given the previous count and how long the worker lived. */
export function crashesInARow(previous: number, livedMs: number, backoff: RestartBackoff = DEFAULT_RESTART_BACKOFF): number {
  return livedMs >= backoff.stableAfterMs ? 1 : previous + 1;
}

/** Pure. Delay before restarting after the n-th crash in a row (n >= 1). */
export function restartDelayMs(crashes: number, backoff: RestartBackoff = DEFAULT_RESTART_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(Math.max(crashes, 1) - 1, 30));
}

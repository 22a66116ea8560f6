// When active health probes run: the interval with +/- jitter so probes of many
// endpoints (and many turnout replicas) do not fire in lockstep. Pure.

/** Default spread: each delay is the interval +/- 10 %. */
export const PROBE_JITTER_FRACTION = 0.1;

/**
 * Delay before the next probe: `intervalMs` scaled by a factor uniform in
 * [1 - fraction, 1 + fraction), from `random` uniform in [0, 1). At least 1 ms.
 */
export function nextProbeDelayMs(intervalMs: number, random: () => number, fraction = PROBE_JITTER_FRACTION): number {
  const factor = 1 + fraction * (2 * random() - 1);
  return Math.max(1, Math.round(intervalMs * factor));
}

/**
 * Delay before a new session's first probe: uniform in [0, intervalMs), so that
 * endpoints added together (a rollout, a restart of turnout) are probed spread out.
 * The endpoint takes traffic meanwhile: it starts healthy.
 */
export function firstProbeDelayMs(intervalMs: number, random: () => number): number {
  return Math.min(Math.max(0, intervalMs - 1), Math.floor(random() * intervalMs));
}

// Duration annotation values such as "500ms", "10s", "1m30s": a zod schema that
// turns them into milliseconds, and the reverse formatting for messages.
import type { z } from "zod";
import { scalarString } from "./scalar.ts";

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

/** Units largest first, each at most once: 1h, 1m30s, 2s500ms, 250ms. */
const DURATION_SYNTAX = /^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

export const ONE_HOUR_MS = UNIT_MS.h;

const SYNTAX_MESSAGE = "must be a duration such as 500ms, 10s, 1m or 1m30s (whole numbers with units h, m, s, ms, largest first)";

/** A duration from `minMs` (default: anything above zero) to `maxMs` (default 1h), in milliseconds. */
export function durationSchema(bounds: { minMs?: number; maxMs?: number } = {}): z.ZodType<number, string> {
  const { minMs = 1, maxMs = ONE_HOUR_MS } = bounds;
  return scalarString()
    .regex(DURATION_SYNTAX, SYNTAX_MESSAGE)
    .transform(toMilliseconds)
    .refine((ms) => ms > 0, "must be longer than zero")
    .refine((ms) => ms === 0 || ms >= minMs, `must be at least ${formatDuration(minMs)}`)
    .refine((ms) => ms <= maxMs, `must be at most ${formatDuration(maxMs)}`);
}

function toMilliseconds(text: string): number {
  const match = DURATION_SYNTAX.exec(text);
  const [, hours, minutes, seconds, millis] = match ?? [];
  return (
    Number(hours ?? 0) * UNIT_MS.h +
    Number(minutes ?? 0) * UNIT_MS.m +
    Number(seconds ?? 0) * UNIT_MS.s +
    Number(millis ?? 0) * UNIT_MS.ms
  );
}

/** 90000 -> "1m30s"; 1500 -> "1s500ms"; 0 -> "0s". */
export function formatDuration(ms: number): string {
  let rest = ms;
  let text = "";
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text === "" ? "0s" : text;
}

// What the benchmark prints: aligned tables, ratio formatting, and the targets
// each section checks (met / not met), gathered for the closing summary.

export interface TargetCheck {
  section: string;
  target: string;
  measured: string;
  /** undefined: could not be measured in this run. */
  met: boolean | undefined;
}

/** Above this many cores of CPU used by others during a section, its figures are marked noisy. */
export const NOISY_OTHERS_CORES = 0.25;

export class Report {
  readonly targets: TargetCheck[] = [];
  readonly skipped: string[] = [];
  /** Per section: seconds it took and cores' worth of CPU others used meanwhile. */
  readonly sections = new Map<string, { seconds: number; othersCores: number }>();

  check(section: string, target: string, measured: string, met: boolean | undefined): void {
    this.targets.push({ section, target, measured, met });
  }

  skip(section: string, why: string): void {
    this.skipped.push(`${section}: ${why}`);
    console.log(`\n[${section}] SKIPPED: ${why}`);
  }

  sectionDone(section: string, seconds: number, othersCores: number): void {
    this.sections.set(section, { seconds, othersCores });
    console.log(`   [${section}: ${seconds.toFixed(0)} s; others used ${othersCores.toFixed(2)} cores on average meanwhile${othersCores > NOISY_OTHERS_CORES ? ": NOISY" : ""}]`);
  }

  printSummary(): void {
    printTable(
      `targets ("(noisy)" after a verdict: others used more than ${NOISY_OTHERS_CORES} cores during that section; repeat it on a quieter machine)`,
      ["section", "target", "measured", "verdict", "others' cores"],
      this.targets.map((t) => {
        const load = this.sections.get(t.section);
        const noisy = load !== undefined && load.othersCores > NOISY_OTHERS_CORES ? " (noisy)" : "";
        return [t.section, t.target, t.measured, `${t.met === undefined ? "not measured" : t.met ? "met" : "NOT MET"}${noisy}`, fixed(load?.othersCores, 2)];
      }),
    );
    for (const line of this.skipped) console.log(`skipped ${line}`);
  }
}

/** Prints a table with a title line; numbers right-aligned, text left-aligned. */
export function printTable(title: string, headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const numeric = /^[-+]?[0-9.,]+(e[-+]?[0-9]+)?(x|%| ms| us| MB| s)?$/;
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => (numeric.test(cell) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join(" | ").trimEnd();
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const row of rows) console.log(line(row));
}

/** `a / b` as "0.42x"; "n/a" when either side is missing. */
export function ratio(a: number | undefined, b: number | undefined, digits = 2): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "n/a";
  return `${(a / b).toFixed(digits)}x`;
}

export function fixed(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
}

/** Thousands separated, no decimals: 12,345. */
export function count(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "n/a" : Math.round(value).toLocaleString("en-US");
}

/** The q-quantile (0..1) of ascending `sorted`, nearest rank. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/** "median 0.31x (rounds 0.28-0.33x)". */
export function medianOfRounds(ratios: readonly number[]): string {
  return `median ${fixed(median(ratios), 2)}x (rounds ${fixed(Math.min(...ratios), 2)}-${fixed(Math.max(...ratios), 2)}x)`;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error);
}

// What every benchmark section is given: the tools found, the run length, the
// turnout variants to measure, and the report that gathers target verdicts.
import type { Report } from "./report.ts";
import type { SystemTools } from "./system-tools.ts";
import type { TurnoutVariant } from "./turnout-runner.ts";

export interface SectionContext {
  tools: SystemTools;
  quick: boolean;
  report: Report;
  /** turnout as configured by each variant; the control-plane sections use the first. */
  variants: readonly TurnoutVariant[];
}

// Counters and histograms whose values live in plain per-series cells that the hot
// path updates directly; prom-client reads the cells only when a scrape asks.
// prom-client's own label-bound series hash and validate their labels on every
// update, which cost about a tenth of the proxy's CPU per request.
import { Counter, Histogram } from "prom-client";
import type { Registry } from "prom-client";

type Labels = Record<string, string>;

/** One counter series: its labels, fixed when made, and its total. */
export class CounterCell {
  readonly labels: Readonly<Labels>;
  value = 0;

  constructor(labels: Readonly<Labels>) {
    this.labels = labels;
  }
}

/** The cells of one counter, in the order they were first made (prom-client's order). */
export class CounterCells {
  readonly #cells: CounterCell[] = [];

  create(labels: Readonly<Labels>): CounterCell {
    const cell = new CounterCell(labels);
    this.#cells.push(cell);
    return cell;
  }

  /** The samples as prom-client's Counter#get gives them. */
  values(): { value: number; labels: Labels }[] {
    return this.#cells.map((cell) => ({ value: cell.value, labels: { ...cell.labels } }));
  }
}

/** One histogram series: observations per bucket (not cumulative), sum and count. */
export class HistogramCell {
  readonly labels: Readonly<Labels>;
  readonly #upperBounds: readonly number[];
  /** Observations per bucket; one past the last bound counts what only +Inf holds. */
  readonly bucketCounts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Readonly<Labels>, upperBounds: readonly number[]) {
    this.labels = labels;
    this.#upperBounds = upperBounds;
    this.bucketCounts = new Float64Array(upperBounds.length + 1);
  }

  /** A non-negative finite value (callers check), counted in the first bucket it fits, as prom-client does. */
  observe(value: number): void {
    const bounds = this.#upperBounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] ?? 0)) i++;
    this.bucketCounts[i] = (this.bucketCounts[i] ?? 0) + 1;
    this.sum += value;
    this.count += 1;
  }
}

/** A histogram sample as prom-client's Histogram builds it for text: `le` apart from the series labels. */
export interface HistogramSample {
  value: number;
  labels: { le?: number | string };
  sharedLabels: Readonly<Labels>;
  metricName: string;
  /** Always empty (no exemplars); present as in prom-client's samples, so JSON compares equal. */
  exemplar: null | undefined;
}

/** The cells of one histogram, in the order they were first made. */
export class HistogramCells {
  readonly name: string;
  readonly upperBounds: readonly number[];
  readonly #cells: HistogramCell[] = [];

  constructor(name: string, upperBounds: readonly number[]) {
    this.name = name;
    this.upperBounds = [...upperBounds].sort((a, b) => a - b);
  }

  create(labels: Readonly<Labels>): HistogramCell {
    const cell = new HistogramCell(labels, this.upperBounds);
    this.#cells.push(cell);
    return cell;
  }

  /** Per series: the cumulative buckets, +Inf, _sum and _count. */
  samples(): HistogramSample[] {
    const samples: HistogramSample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const cell of this.#cells) {
      const sharedLabels = cell.labels;
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += cell.bucketCounts[i] ?? 0;
        samples.push({ value: cumulative, labels: { le }, sharedLabels, metricName: bucket, exemplar: null });
      });
      samples.push(
        { value: cell.count, labels: { le: "+Inf" }, sharedLabels, metricName: bucket, exemplar: null },
        { value: cell.sum, labels: {}, sharedLabels, metricName: `${this.name}_sum`, exemplar: undefined },
        { value: cell.count, labels: {}, sharedLabels, metricName: `${this.name}_count`, exemplar: undefined },
      );
    }
    return samples;
  }
}

interface FamilyDefinition {
  name: string;
  help: string;
  labelNames: readonly string[];
}

/**
 * A prom-client Counter (registered, aggregated across workers like any other)
 * whose values are read from `cells`; its own inc() is not used.
 */
export class AccumulatedCounter extends Counter {
  readonly #cells: CounterCells;

  constructor(registry: Registry, definition: FamilyDefinition, cells: CounterCells) {
    super({ name: definition.name, help: definition.help, labelNames: definition.labelNames, registers: [registry] });
    this.#cells = cells;
  }

  override async get(): ReturnType<Counter["get"]> {
    const metric = await super.get();
    metric.values = this.#cells.values();
    return metric;
  }
}

/**
 * A prom-client Histogram whose values are read from `cells`; its own observe()
 * is not used. prom-client builds both of a histogram's forms from
 * getForPromString(): the registry's text directly, get() (JSON, what workers
 * send for aggregation) by merging each sample's labels.
 */
export class AccumulatedHistogram extends Histogram {
  readonly #definition: FamilyDefinition;
  readonly #cells: HistogramCells;

  constructor(registry: Registry, definition: FamilyDefinition, cells: HistogramCells) {
    super({ name: definition.name, help: definition.help, labelNames: definition.labelNames, buckets: [...cells.upperBounds], registers: [registry] });
    this.#definition = definition;
    this.#cells = cells;
  }

  getForPromString(): Promise<{ name: string; help: string; type: "histogram"; aggregator: "sum"; values: HistogramSample[] }> {
    const { name, help } = this.#definition;
    return Promise.resolve({ name, help, type: "histogram", aggregator: "sum", values: this.#cells.samples() });
  }
}

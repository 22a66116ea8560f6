// The counters and histograms of workers that exited, kept by the primary and added
// to every scrape, so an aggregated total never goes backwards when a worker is
// replaced (Prometheus would read the drop as a reset and rate() would spike).
import type { MetricsSnapshot } from "../observability/metrics.ts";

type Metric = MetricsSnapshot[number];
type MetricValue = Metric["values"][number];

/** Only sums of ever-growing values can be carried over; gauges describe a live process. */
function isMonotonic(metric: Metric): boolean {
  const kind: unknown = metric.type;
  return (kind === "counter" || kind === "histogram") && (metric.aggregator === undefined || metric.aggregator === "sum");
}

function seriesKey(value: MetricValue & { metricName?: string }): string {
  const labels = Object.entries(value.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${value.metricName ?? ""}\0${JSON.stringify(labels)}`;
}

/**
 * Pure. `retired` with the counters and histograms of `exited` (a worker's last
 * snapshot) added series by series; `exited`'s gauges are left out.
 */
export function retireMetrics(retired: MetricsSnapshot, exited: MetricsSnapshot): MetricsSnapshot {
  const byName = new Map<string, Metric>(retired.map((m) => [m.name, { ...m, values: m.values.map((v) => ({ ...v })) }]));
  for (const metric of exited) {
    if (!isMonotonic(metric)) continue;
    let target = byName.get(metric.name);
    if (!target) {
      target = { ...metric, values: [] };
      byName.set(metric.name, target);
    }
    const series = new Map<string, MetricValue>(target.values.map((v) => [seriesKey(v), v]));
    for (const value of metric.values) {
      const existing = series.get(seriesKey(value));
      if (existing) existing.value += value.value;
      else {
        const copy = { ...value };
        target.values.push(copy);
        series.set(seriesKey(copy), copy);
      }
    }
  }
  return [...byName.values()];
}

// Label hygiene for metrics: fixed value sets so cardinality stays bounded, and
// event fields sanitised into label values and amounts.

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]);

/** Standard methods as sent (HTTP methods are case-sensitive); anything else is "OTHER". */
export function normaliseMethod(method: unknown): string {
  return typeof method === "string" && METHODS.has(method) ? method : "OTHER";
}

const STATUS_LABELS: string[] = [];

/** The status as a numeric string; anything that is not a status code becomes "0". */
export function statusLabel(code: unknown): string {
  if (typeof code !== "number" || !Number.isInteger(code) || code < 100 || code > 999) return "0";
  return (STATUS_LABELS[code] ??= String(code));
}

/** A label value from an event field: strings pass, anything else is "". */
export function labelValue(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** A count or duration usable by a counter or histogram, else undefined. */
export function nonNegative(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

// Label hygiene for metrics: fixed value sets so cardinality stays bounded, and
// a bounded cache of label-bound series so a request allocates no label objects.

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

/**
 * Map with a size cap: past it, the oldest entry goes. It only speeds up lookups;
 * an evicted entry is rebuilt on demand, so evicting never loses data.
 */
export class BoundedCache<V> {
  readonly #entries = new Map<string, V>();
  readonly #maxSize: number;

  constructor(maxSize: number) {
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError(`cache size must be a positive integer, got ${String(maxSize)}`);
    this.#maxSize = maxSize;
  }

  get size(): number {
    return this.#entries.size;
  }

  getOrCreate(key: string, create: () => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = create();
      if (this.#entries.size >= this.#maxSize) {
        const oldest = this.#entries.keys().next();
        if (oldest.done !== true) this.#entries.delete(oldest.value);
      }
      this.#entries.set(key, value);
    }
    return value;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }
}

// buildRouteTable: the pure translation Snapshot -> { RouteTable, diagnostics }.
// Each of our Ingresses is decided (which version) and expanded on its own, each
// host is built from the Ingresses that contribute to it (route groups, fallback,
// TLS Secret), then the global default backend is chosen. Equal snapshots give
// equal results. A TranslationCache carried from one call to the next redoes only
// what the changed objects touch; the result is the same as without it.
import type { TranslationResult } from "../routing/index.ts";
import type { Snapshot } from "../store/index.ts";
import { TranslationCache } from "./translation-cache.ts";

export function buildRouteTable(snapshot: Snapshot, cache: TranslationCache = new TranslationCache()): TranslationResult {
  return cache.translate(snapshot);
}

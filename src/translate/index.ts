// translate: the pure function from a cluster Snapshot to a RouteTable plus
// diagnostics. May import store/, routing/ and config/ (annotation parsing).
export { buildRouteTable } from "./build-route-table.ts";
export { TranslationCache } from "./translation-cache.ts";
export { sortedIndexOf } from "./ordering.ts";
export { ownershipTest, LEGACY_CLASS_ANNOTATION, DEFAULT_CLASS_ANNOTATION } from "./ingress-class.ts";
export type { OwnershipTest } from "./ingress-class.ts";

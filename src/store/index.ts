// store: normalised cluster objects, their edge schemas, and the ClusterStore.
// May import nothing from other src/ folders.
export * from "./objects.ts";
export * from "./snapshot.ts";
export * from "./schemas.ts";
export * from "./cluster-store.ts";

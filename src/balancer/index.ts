// balancer: the Balancer contract, the load-balancing policies and their factory.
// May import from src/endpoints/endpoint.ts and types from src/routing.
export * from "./balancer.ts";
export * from "./create-balancer.ts";
export * from "./hash.ts";
export * from "./round-robin.ts";
export * from "./random.ts";
export * from "./least-request.ts";
export * from "./ewma.ts";
export * from "./ring-hash.ts";
export * from "./maglev.ts";

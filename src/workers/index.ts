// workers: how turnout's processes are laid out. The control plane (sources, reconciler,
// status, leader election, active health, admin) and the data plane (listeners, proxy,
// passive health) run in one process, or as a primary with N proxy workers kept in step
// by messages. May import every other src/ folder; only cmd/ imports it.
export type { ShutdownSignal, Turnout } from "./turnout.ts";
export { startTurnout } from "./start.ts";

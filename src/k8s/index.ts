// k8s: the cluster edge. Informers with restart/backoff and a sync barrier,
// Ingress status writes, Events, leader election. May import every other src/ folder's public API.
export { ClusterSource } from "./cluster-source.ts";
export type { ClusterSourceOptions, NamedObject } from "./cluster-source.ts";
export { ResilientInformer, backoffDelay } from "./resilient-informer.ts";
export { EventRecorder } from "./event-recorder.ts";
export { IngressStatusWriter, planStatusUpdates } from "./status-writer.ts";
export { loadKubeConfig } from "./kube-config.ts";
export { LeaderElector, electionSettingsFromEnv } from "./leader-election.ts";
export type { ElectionSettings, ElectionTimings, LeaderElectorOptions } from "./leader-election.ts";

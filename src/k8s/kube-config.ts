// Cluster credentials: a kubeconfig file when given, else the pod's service account.
import { KubeConfig } from "@kubernetes/client-node";

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined) kc.loadFromFile(path);
  else kc.loadFromCluster();
  return kc;
}

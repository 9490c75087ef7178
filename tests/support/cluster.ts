import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

export { createTestNamespace } from "@/local-cluster/testing";

/** The run's shared control plane (see tests/global-setup.ts). */
export function sharedCluster(): { kubeconfigPath: string; kc: KubeConfig } {
  const kubeconfigPath = inject("kubeconfigPath");
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kubeconfigPath, kc };
}

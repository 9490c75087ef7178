import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterProcesses, createTestNamespace, startTestCluster, type TestCluster } from "./testing";

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("simulated node (kwok)", () => {
  let cluster: TestCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "kwok" });
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("registers a Ready node that says it is simulated", async () => {
    const nodes = await kc.makeApiClient(CoreV1Api).listNode();
    expect(nodes.items).toHaveLength(1);
    const node = nodes.items[0]!;
    expect(node.metadata?.labels?.["pagoda.dev/simulated"]).toBe("true");
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("makes a Deployment Available", async () => {
    const namespace = await createTestNamespace(kc, "kwok");
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "site" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "site" } },
          template: {
            metadata: { labels: { app: "site" } },
            spec: { containers: [{ name: "nginx", image: "pagoda.local/nginx:1" }] },
          },
        },
      },
    });
    const available = await until("Deployment site to be Available with 2 ready replicas", async () => {
      const d = await apps.readNamespacedDeployment({ name: "site", namespace });
      const ok = d.status?.conditions?.some((c) => c.type === "Available" && c.status === "True");
      return ok && d.status?.readyReplicas === 2 ? d : undefined;
    });
    expect(available.status?.availableReplicas).toBe(2);
  });

  it("stops every process, kwok included", async () => {
    expect(clusterProcesses(cluster.stateDir).length).toBe(5);
    const stateDir = cluster.stateDir;
    await cluster.stop();
    expect(clusterProcesses(stateDir)).toEqual([]);
  });
});

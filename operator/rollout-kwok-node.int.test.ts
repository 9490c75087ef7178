// NEEDS A NODE: runs on a cluster with a simulated node (kwok), which reports
// Pods as running and ready without running them. That is what it takes to
// see a rollout complete: Ready, currentDigest, the RolloutComplete event and
// a digest change rolling over. Serving real bytes needs a real node.
import { EventsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { CONDITION_PROGRESSING, CONDITION_READY, findCondition, isDigestLive } from "@/lib/staticsite/types";
import { Clients, createSiteNamespace, digestOf, siteSpec, testOperatorConfig, waitFor } from "./int-test-support";
import { startOperator, type RunningOperator } from "./controller";

describe("rollouts on a (simulated) node", () => {
  let cluster: TestCluster;
  let clients: Clients;
  let kc: KubeConfig;
  let operator: RunningOperator;

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "kwok" });
    clients = Clients.fromFile(cluster.kubeconfigPath);
    kc = clients.kc;
    operator = await startOperator(testOperatorConfig(cluster.kubeconfigPath));
  });

  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
  });

  it("reports a digest live only after its rollout completed, and announces it", async () => {
    const ns = await createSiteNamespace(kc, "rollout");
    await clients.applySite(ns, "live", siteSpec({ replicas: 2 }));
    const first = await waitFor(
      "digest a to be live",
      async () => {
        const s = await clients.getSite(ns, "live");
        return isDigestLive(s, digestOf("a")) ? s : undefined;
      },
      90_000,
    );
    expect(first.status?.readyReplicas).toBe(2);
    expect(first.status?.shortDigest).toBe("a".repeat(12));
    expect(findCondition(first.status, CONDITION_READY)?.reason).toBe("Available");
    expect(findCondition(first.status, CONDITION_PROGRESSING)?.reason).toBe("RolloutComplete");

    await clients.applySite(ns, "live", siteSpec({ replicas: 2, artifact: { url: "http://127.0.0.1:9/b.tgz", digest: digestOf("b") } }));
    // Until the new digest is fully rolled out, the old one stays current.
    const seen = new Set<string>();
    const second = await waitFor(
      "digest b to be live",
      async () => {
        const s = await clients.getSite(ns, "live");
        if (s.status?.observedGeneration === 2 && s.status.currentDigest) seen.add(s.status.currentDigest);
        return isDigestLive(s, digestOf("b")) ? s : undefined;
      },
      90_000,
    );
    expect(second.status?.observedGeneration).toBe(2);
    const dep = await clients.apps.readNamespacedDeployment({ name: "live", namespace: ns });
    expect(dep.status?.updatedReplicas).toBe(2);
    expect(dep.status?.availableReplicas).toBe(2);
    expect([...seen].every((d) => d === digestOf("a") || d === digestOf("b"))).toBe(true);

    const events = await waitFor("RolloutComplete events", async () => {
      const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
      const mine = list.items.filter((e) => e.regarding?.name === "live" && e.reason === "RolloutComplete");
      return mine.length >= 2 ? mine : undefined;
    });
    expect(events.map((e) => e.note).sort()).toEqual([`sha256:${"a".repeat(12)} is live`, `sha256:${"b".repeat(12)} is live`]);
    expect(events.every((e) => e.reportingController === "pagoda.dev/operator" && e.type === "Normal")).toBe(true);
  });
});
